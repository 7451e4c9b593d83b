// Vector fields (RNA velocity and the like, obsm["velocity_<emb>"]): which one fits the view,
// why none does, and the animated overlay that shows it (render/vectors.js).
import { api } from "../data/client.js";
import { VectorOverlay } from "../render/vectors.js";

/** `prefers-reduced-motion: reduce`: the overlay draws still streamlines instead of animating. */
export function reducedMotion() {
  return !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
}

/**
 * The vector overlay of the live view. Reads from `view`: store, identity, n, geom, hidden,
 * camera, geometryLoading, progress(), fail().
 */
export class VectorLayer {
  constructor(view, canvas) {
    this.view = view;
    this.overlay = new VectorOverlay(canvas);
    this.cache = new Map(); // "field|dim" -> promise of the field's data
    if (window.matchMedia) window.matchMedia("(prefers-reduced-motion: reduce)").addEventListener?.("change", () => this.update());
  }

  /** Vector fields (ids) that fit the current embedding and dimension, default first. */
  fields() {
    const s = this.view.store.get();
    const vf = this.view.identity && this.view.identity.vector_fields;
    if (!vf || !vf.fields) return [];
    const ids = Object.entries(vf.fields)
      .filter(([, f]) => f.embedding === s.embedding && f.available_dimensions.includes(s.dimension))
      .map(([id]) => id);
    return ids.sort((a, b) => (b === vf.default_field) - (a === vf.default_field));
  }

  /** The vector field (id) shown: the chosen one if it fits, else the default that fits, or null. */
  field() {
    const ids = this.fields();
    const chosen = this.view.store.get().vectorField;
    return ids.includes(chosen) ? chosen : ids[0] || null;
  }

  /**
   * Why there is no vector field to show, or null when there is one: "none" (dataset has no
   * vector fields), or "dimension" / "embedding" (fields exist, for another view) with a message.
   */
  problem() {
    if (this.field()) return null;
    const s = this.view.store.get();
    const vf = this.view.identity && this.view.identity.vector_fields;
    const fields = vf && vf.fields ? Object.entries(vf.fields) : [];
    if (!fields.length) {
      const extra = vf && vf.problems && vf.problems.length ? ` (${vf.problems.join("; ")})` : "";
      return { kind: "none", message: `This dataset has no vector field (such as obsm["velocity_umap"]) to animate${extra}.` };
    }
    const same = fields.filter(([, f]) => f.embedding === s.embedding);
    if (same.length) {
      const dims = [...new Set(same.flatMap(([, f]) => f.available_dimensions))].sort();
      return {
        kind: "dimension",
        message: `${same.map(([id]) => id).join(", ")}: vectors exist only in ${dims.map((d) => `${d}D`).join(" / ")} for this embedding, not in ${s.dimension}D — switch to ${dims.map((d) => `${d}D`).join(" or ")}.`,
      };
    }
    const embs = [...new Set(fields.map(([, f]) => f.embedding))];
    return { kind: "embedding", message: `Vector fields exist only for ${embs.join(", ")}, not for ${s.embedding}.` };
  }

  /** Start, restart or stop the overlay to match the store (after the points are loaded). */
  async update() {
    const v = this.view;
    const s = v.store.get();
    const field = s.vectors ? this.field() : null;
    if (!field) {
      this.overlay.stop();
      return;
    }
    const key = `${field}|${s.dimension}`;
    try {
      await v.geometryLoading;
      if (!this.cache.has(key)) {
        const label = `Loading vectors ${field}`;
        this.cache.set(key, api.vectors(field, s.dimension, v.n, (f) => v.progress(label, f)));
      }
      const data = await this.cache.get(key);
      v.progress("", 1);
      const now = v.store.get();
      if (!now.vectors || this.field() !== field || now.dimension !== s.dimension) return;
      this.overlay.setParams(now.vectorParams);
      this.overlay.reducedMotion = reducedMotion();
      this.overlay.setField(data.data, v.geom, v.hidden, v.n);
      this.overlay.start(v.camera, this.color());
    } catch (e) {
      this.cache.delete(key);
      v.fail(e, `could not load vector field ${field}`);
    }
  }

  /** Only the look changed (speed, density, color): no reload. */
  updateParams() {
    this.overlay.color = this.color();
    this.overlay.setParams(this.view.store.get().vectorParams);
  }

  color() {
    const s = this.view.store.get();
    if (s.vectorParams.color !== "auto") return s.vectorParams.color;
    return s.theme === "dark" ? "rgba(235,235,245,0.8)" : "rgba(20,20,30,0.7)";
  }

  /** Still streamlines (reduced motion) are redrawn when the camera moved. */
  followCamera(cameraVersion) {
    const o = this.overlay;
    if (o.running && o.reducedMotion && o.lastCamera !== cameraVersion) o.drawStatic();
  }

  /** For snapshots: what the overlay shows. */
  describe() {
    const s = this.view.store.get();
    return {
      vectors: s.vectors && this.overlay.running,
      vector_field: this.field(),
      vector_fields: this.fields(),
      vector_problem: this.problem(),
      vector_params: { ...s.vectorParams },
      vectors_animating: !!(this.overlay.running && this.overlay.raf),
    };
  }
}
