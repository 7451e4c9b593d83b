// Annotation state: who is annotating (set once, kept in this browser), the folder's summary
// from the server, and the actions (vote, retract, lock). The panel (ui/annotation.js) renders
// it; the consensus itself is an ordinary obs field, reloaded after each change.
import { api } from "../data/client.js";

const NAME_KEY = "cellucid.annotator";
const POLL_MS = 4000; // other annotators' votes appear without a reload

function storage() {
  try {
    return window.localStorage;
  } catch (_) {
    return null; // a sandboxed page: the name lasts as long as the page
  }
}

export class Annotations {
  constructor(app) {
    this.app = app;
    const info = app.identity.annotations || null;
    this.enabled = !!info;
    this.field = info ? info.consensus_field : null;
    this.summary = null;
    this.error = null;
    this.name = (storage() && storage().getItem(NAME_KEY)) || "";
    this.subs = new Set();
    this.revision = null;
    this.note = null; // the last sync's outcome, shown until the next change
  }

  subscribe(fn) {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }

  notify() {
    for (const fn of [...this.subs]) fn(this);
  }

  setName(name) {
    this.name = String(name || "").trim().replace(/\s+/g, " ");
    const st = storage();
    if (st) st.setItem(NAME_KEY, this.name);
    this.notify();
  }

  get isAuthor() {
    const author = this.summary && this.summary.author;
    return !!author && !!this.name && author.toLowerCase() === this.name.toLowerCase();
  }

  /** Targets of one field, by category name. */
  targetsOf(field) {
    const out = new Map();
    for (const t of (this.summary && this.summary.targets) || []) if (t.field === field) out.set(t.category, t);
    return out;
  }

  /** Targets that are explicit cell sets. */
  setTargets() {
    return ((this.summary && this.summary.targets) || []).filter((t) => t.set);
  }

  apply(summary) {
    const changed = summary.revision !== this.revision;
    const hadError = this.error;
    this.summary = summary;
    this.revision = summary.revision;
    this.error = null;
    if (changed) this.app.refreshField(this.field);
    // a poll that finds nothing new leaves the panel alone (no rebuilt list under the pointer)
    if (changed || hadError) this.notify();
  }

  async load() {
    try {
      this.apply(await api.annotations());
    } catch (e) {
      this.error = `${e.message}${e.hint ? ` (${e.hint})` : ""}`;
      this.notify();
    }
  }

  /** `action` is vote | retract | lock; `target` is {field, category} | {set} | {cells}. */
  async act(action, target, extra = {}) {
    if (!this.name) {
      this.error = "Set your annotator name first.";
      this.notify();
      return false;
    }
    try {
      const answer = await api.annotate(action, { annotator: this.name, ...target, ...extra });
      this.note = null;
      this.apply(answer);
      return true;
    } catch (e) {
      this.error = `${e.message}${e.hint ? ` — ${e.hint}` : ""}`;
      this.notify();
      return false;
    }
  }

  /** Commit, pull and push the folder through git on the server's machine. */
  async sync() {
    this.note = "syncing…";
    this.notify();
    try {
      const answer = await api.annotate("sync", {});
      this.note = `sync: ${answer.sync.log.join("; ")}`;
      this.apply(answer);
    } catch (e) {
      this.note = null;
      this.error = `sync failed: ${e.message}${e.hint ? ` — ${e.hint}` : ""}`;
    }
    this.notify();
  }

  startPolling() {
    const tick = () => {
      if (document.visibilityState !== "hidden") this.load();
    };
    this.timer = setInterval(tick, POLL_MS);
  }
}
