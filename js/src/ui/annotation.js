// Side-panel section for annotation (only when the server has an annotation folder): the
// annotator's name (set once), a label for a category of a field or for the selection, and per
// category its proposals with vote counts and voters, a vote button each and, for the
// project's author, lock. The state and the requests live in state/annotations.js.
import { h, fmtInt } from "./dom.js";
import { Annotations } from "../state/annotations.js";
import { crossHighlightCategory, endCrossHover } from "../state/cross.js";

const STATUS_TEXT = { agreed: "agreed", locked: "locked", disputed: "disputed", pending: "pending" };

export function mountAnnotation(app, dom) {
  const ann = new Annotations(app);
  if (!ann.enabled) return null;
  app.annotations = ann;
  const fields = app.identity.fields.filter((f) => f.kind !== "continuous" && !f.annotation);

  const who = h("div", { "data-testid": "annotation-who" });
  const nameInput = h("input", { type: "text", placeholder: "your name", maxLength: 80, "data-testid": "annotation-name", "aria-label": "annotator name" });
  const setName = () => nameInput.value.trim() && ann.setName(nameInput.value);
  nameInput.addEventListener("keydown", (e) => e.key === "Enter" && setName());
  const nameBtn = h("button", { "data-testid": "annotation-name-set", on: { click: setName } }, "set");

  const fieldSel = h(
    "select",
    { "data-testid": "annotation-field", "aria-label": "field to annotate", on: { change: () => loadCategories() } },
    fields.map((f) => h("option", { value: f.name }, f.name)),
  );
  const cs = app.store.get().colorBy;
  fieldSel.value = cs && fields.some((f) => f.name === cs.name) ? cs.name : app.identity.default_field && fields.some((f) => f.name === app.identity.default_field) ? app.identity.default_field : (fields[0] || {}).name || "";
  const catSel = h("select", { "data-testid": "annotation-category", "aria-label": "category to label" });
  const labels = h("datalist", { id: "annotation-labels" });
  const label = h("input", { type: "text", list: "annotation-labels", placeholder: "label, e.g. CD8 T cell", maxLength: 200, "data-testid": "annotation-label", "aria-label": "label" });
  const note = h("input", { type: "text", placeholder: "note (optional)", maxLength: 2000, "data-testid": "annotation-note", "aria-label": "note" });
  const confidence = h("input", { type: "number", min: 0, max: 1, step: 0.1, placeholder: "0–1", "data-testid": "annotation-confidence", "aria-label": "confidence from 0 to 1" });
  const extra = () => ({ label: label.value, note: note.value || null, confidence: confidence.value === "" ? null : Number(confidence.value) });
  const propose = h("button", { "data-testid": "annotation-propose", title: "propose this label for the category, or vote for it", on: { click: () => ann.act("vote", { field: fieldSel.value, category: catSel.value }, extra()) } }, "propose / vote");
  const labelSel = h("button", { "data-testid": "annotation-label-selection", on: { click: () => ann.act("vote", { cells: [...app.store.get().selection] }, extra()) } }, "label selection");
  const colorBtn = h("button", { "data-testid": "annotation-color-by", title: "color the cells by the consensus", on: { click: () => app.setColorBy(ann.field, "field") } }, `color by ${ann.field}`);
  const refresh = h("button", { title: "fetch the latest votes", "aria-label": "refresh annotations", on: { click: () => ann.load() } }, "↻");
  const syncBtn = h("button", { "data-testid": "annotation-sync", title: "commit, pull and push the annotation folder through its git remote (on the server's machine)", on: { click: () => ann.sync() } }, "sync");
  const status = h("div.muted", { "data-testid": "annotation-status", role: "status" });
  const list = h("div.annotation-list", { "data-testid": "annotation-targets" });
  const sets = h("div.annotation-list", { "data-testid": "annotation-sets" });
  const form = h(
    "div",
    {},
    h("div.row", {}, h("label", {}, "Field"), fieldSel),
    h("div.row", {}, h("label", {}, "Category"), catSel),
    h("div.row", {}, h("label", {}, "Label"), label, labels),
    h("div.row", {}, h("label", {}, "Note"), note),
    h("div.row", {}, h("label", {}, "Confidence"), confidence),
    h("div.row", {}, propose, labelSel),
  );
  dom.sidebar.append(h("section.section", { "data-testid": "annotation-panel" }, h("h3", {}, "Annotation"), who, form, h("div.row", {}, colorBtn, refresh, syncBtn), status, list, sets));

  let categories = [];
  async function loadCategories() {
    try {
      const col = await app.column("field", fieldSel.value);
      categories = col.categories || [];
    } catch (e) {
      categories = [];
      ann.error = e.message;
    }
    const keep = catSel.value;
    catSel.replaceChildren(...categories.map((c) => h("option", { value: c }, c)));
    if (categories.includes(keep)) catSel.value = keep;
    render();
  }

  function proposal(target, p) {
    const mine = p.voters.some((v) => v.toLowerCase() === ann.name.toLowerCase());
    const key = target.set ? { set: target.set } : { field: target.field, category: target.category };
    return h(
      "div.proposal",
      { "data-testid": "annotation-proposal", dataset: { label: p.label, votes: String(p.votes) } },
      h("span.plabel", {}, p.label),
      h("span.count", { "data-testid": "annotation-count" }, `×${p.votes}`),
      h("span.voters.muted", { "data-testid": "annotation-voters", title: details(target, p) }, p.voters.join(", ")),
      mine ? h("span.muted", {}, "✓") : h("button", { "data-testid": "annotation-vote", title: `vote for ${p.label}`, on: { click: () => ann.act("vote", key, { label: p.label }) } }, "+1"),
      ann.isAuthor && target.status !== "locked" ? h("button", { "data-testid": "annotation-lock", title: `lock ${p.label} as the consensus`, on: { click: () => ann.act("lock", key, { label: p.label }) } }, "lock") : null,
    );
  }

  // each voter's confidence and note, shown when the pointer rests on the voters
  function details(target, p) {
    const votes = target.votes.filter((v) => p.voters.includes(v.annotator));
    return votes.map((v) => `${v.annotator}${v.confidence != null ? ` (${v.confidence})` : ""}${v.note ? `: ${v.note}` : ""}`).join("\n");
  }

  function targetRow(name, target, onPick) {
    const st = target ? target.status : "pending";
    const head = h(
      "div.target-head",
      { on: { click: onPick } },
      h("b", {}, name),
      h("span", { class: `badge ${st}`, "data-testid": "annotation-state" }, STATUS_TEXT[st]),
      target && target.label ? h("span", { "data-testid": "annotation-consensus" }, target.label) : null,
      target && target.status === "locked" && ann.isAuthor ? h("button", { "data-testid": "annotation-unlock", on: { click: () => ann.act("lock", target.set ? { set: target.set } : { field: target.field, category: target.category }, { label: null }) } }, "unlock") : null,
    );
    // hovering a category's row cross-highlights its cells in every view (state/cross.js)
    const on = target && target.set ? {} : { mouseenter: () => crossHighlightCategory(app, name, false, fieldSel.value).catch(() => {}), mouseleave: () => endCrossHover(app.store) };
    return h("div.target", { "data-testid": "annotation-row", dataset: { category: name }, on }, head, ...(target ? target.proposals.map((p) => proposal(target, p)) : []));
  }

  function render() {
    if (ann.name) who.replaceChildren(h("span", {}, "Annotating as "), h("b", { "data-testid": "annotation-me" }, ann.name), ann.isAuthor ? h("span.muted", {}, " (author)") : null, h("button.link", { on: { click: () => ((nameInput.value = ann.name), ann.setName("")) } }, "change"));
    else who.replaceChildren(h("div.row", {}, nameInput, nameBtn), h("div.muted", {}, "Your name is shown with your votes."));
    form.hidden = !ann.name;
    const sel = app.store.get().selection.length;
    labelSel.disabled = !sel;
    labelSel.textContent = sel ? `label ${fmtInt(sel)} selected` : "label selection";
    const targets = ann.targetsOf(fieldSel.value);
    // categories with proposals first, in the field's order; then the rest
    const named = categories.filter((c) => targets.has(c));
    list.replaceChildren(...named.map((c) => targetRow(c, targets.get(c), () => (catSel.value = c))));
    const rest = categories.length - named.length;
    if (rest) list.append(h("div.muted", {}, `${fmtInt(rest)} ${named.length ? "other " : ""}categor${rest === 1 ? "y" : "ies"} without proposals`));
    sets.replaceChildren(...ann.setTargets().map((t) => targetRow(`${fmtInt((ann.summary.sets[t.set] || {}).size || 0)} cells`, t, () => {})));
    const all = (ann.summary && ann.summary.targets) || [];
    labels.replaceChildren(...[...new Set(all.flatMap((t) => t.proposals.map((p) => p.label)))].map((l) => h("option", { value: l })));
    const count = (st) => all.filter((t) => t.status === st).length;
    const problems = (ann.summary && ann.summary.problems) || [];
    status.textContent = ann.error || ann.note || (ann.summary ? `${count("agreed") + count("locked")} agreed · ${count("disputed")} disputed · ${count("pending")} pending · ${ann.summary.annotators.length} annotator(s)${problems.length ? ` · ${problems.length} problem(s): ${problems.join("; ")}` : ""}` : "loading…");
    status.classList.toggle("error", !!ann.error);
  }

  ann.subscribe(render);
  app.store.subscribe((s, changed) => changed.has("selection") && render());
  loadCategories();
  ann.load();
  ann.startPolling();
  return ann;
}
