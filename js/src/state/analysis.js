// The Analysis panel's state: one small store (state/store.js) for what the panel shows, and
// a request counter per kind of analysis so a new request supersedes an older one — the older
// one's fetch is aborted and, should its answer still arrive (the notebook comm transport
// cannot abort), it is dropped: only the answer of the latest request of a kind is ever shown.
import { Store } from "./store.js";

/** Kinds of analysis, each with its own latest request: a DE run does not cancel a dot plot. */
export const KINDS = ["de", "markers", "signature", "correlation", "violin"];

export function initialAnalysisState() {
  const s = {
    open: false,
    tab: "de",
    // DE table view: filters and sort (the rows themselves are in `de.result`)
    padjMax: 1,
    lfcMin: 0,
    sortKey: "scores",
    sortDesc: true,
  };
  // per kind: {status: "idle"|"running"|"done"|"error", label, result, error, hint, started}
  for (const k of KINDS) s[k] = { status: "idle", label: "", result: null, error: null, hint: "", started: 0 };
  return s;
}

export class AnalysisStore extends Store {
  constructor() {
    super(initialAnalysisState());
    this.gen = Object.fromEntries(KINDS.map((k) => [k, 0]));
    this.controllers = {};
  }

  /**
   * Start a request of `kind`: aborts the previous one of that kind and returns
   * `{gen, signal, current()}`; `current()` is false once a newer request started.
   */
  begin(kind, label) {
    const gen = ++this.gen[kind];
    if (this.controllers[kind]) this.controllers[kind].abort();
    const controller = new AbortController();
    this.controllers[kind] = controller;
    this.patch(kind, { status: "running", label, error: null, hint: "", started: performance.now() });
    return { gen, signal: controller.signal, current: () => this.gen[kind] === gen };
  }

  /** Progress of the running request (a stage label); ignored once superseded. */
  progress(kind, req, label) {
    if (req.current()) this.patch(kind, { label });
  }

  /** The answer of `req`; dropped (returns false) when a newer request of `kind` started. */
  finish(kind, req, result) {
    if (!req.current()) return false;
    this.patch(kind, { status: "done", label: "", result });
    return true;
  }

  fail(kind, req, err) {
    if (!req.current() || (err && err.name === "AbortError")) return;
    this.patch(kind, { status: "error", label: "", error: err.message || String(err), hint: err.hint || "" });
  }

  patch(kind, part) {
    this.set({ [kind]: { ...this.get()[kind], ...part } });
  }
}
