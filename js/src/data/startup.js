// What the viewer shows first. Shared by the inline boot script (boot.js), which requests
// these data before the viewer's code has loaded, and by App.start, which uses them.
import { readFragment } from "../state/fragment.js";
import { pageSearch } from "../page.js";

/**
 * The view asked for by the page URL: the fragment (the view as last shown) wins over the
 * query parameters. {embedding, dimension, colorBy} (missing ones undefined).
 */
export function initialChoices(search = pageSearch(), hash = window.location.hash) {
  const q = new URLSearchParams(search);
  const frag = readFragment(hash);
  return {
    embedding: frag.embedding || q.get("embedding") || undefined,
    dimension: frag.dimension || q.get("dimension") || undefined,
    colorBy: frag.colorBy || q.get("color_by") || undefined,
  };
}

/**
 * The first view for `identity` (dataset_identity.json) given the URL's choices:
 * {embedding, dimension, colorBy, colorKind} — embedding null when the dataset has none,
 * colorBy null when there is nothing to color by; colorKind "field" or "gene".
 */
export function firstView(identity, initial = {}) {
  const embs = identity.embeddings || [];
  const embedding = initial.embedding || identity.default_embedding || (embs[0] && embs[0].key) || null;
  const info = embs.find((e) => e.key === embedding);
  let dimension = Number(initial.dimension || identity.default_dimension || 2);
  if (info && !info.dimensions.includes(dimension)) dimension = Math.max(...info.dimensions.filter((d) => d <= 3));
  const fields = identity.fields || [];
  const colorBy = initial.colorBy || identity.default_field || (fields[0] && fields[0].name) || null;
  const colorKind = colorBy && fields.some((f) => f.name === colorBy) ? "field" : "gene";
  return { embedding, dimension, colorBy, colorKind };
}
