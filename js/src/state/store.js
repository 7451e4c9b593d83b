// One store for everything the user can change. UI panels and the renderer subscribe to it;
// nothing else keeps a second copy of this state.
import { viewOptionDefaults } from "./viewOptions.js";

/** Defaults; `colorBy` is `{kind: "field"|"gene", name}` or null. */
export function initialState() {
  return {
    embedding: null,
    dimension: 2,
    navMode: "orbit", // 3D: orbit | planar | fly
    tool: "pan", // pan | lasso | proximity
    colorBy: null,
    colormap: "viridis",
    clip: [1, 99], // percentile clip of the continuous color range (robust by default: color/scale.js)
    range: null, // [min, max] of the continuous color range, null = from clip
    hiddenCategories: {}, // field name -> array of hidden category codes
    filters: [], // {id, field, source, kind, codes?|min?,max?, label}
    selection: new Uint32Array(0), // sorted cell indices
    selectionSource: null,
    highlightGroups: [], // {id, name, color, cells: Uint32Array, visible}
    externalHidden: null, // Uint8Array mask from the host (bridge "visibility"), 1 = hidden
    vectors: false, // vector field overlay on/off
    vectorField: null, // chosen vector field id (null = the default one that fits)
    vectorParams: { count: 3000, speed: 1, trail: 0.5, color: "auto" }, // particles, speed ×, trail 0–1, "#rrggbb"|"auto"
    groupPages: [{ id: 1, name: "page 1" }], // highlight groups are organized in named pages
    activePage: 1,
    proximityRadius: null, // proximity tool radius in embedding units (null = 5 % of the data's extent)
    knnK: 10,
    cvd: "none", // color-vision preview: none | deuteranopia | protanopia | tritanopia
    pointSize: 4,
    opacity: 1,
    theme: "light",
    hover: null,
    // views (state/views.js): snapshots beside the live view, how they are laid out, whether
    // their cameras move together, and the cross-highlighted cells ({label, cells, pinned})
    views: [],
    layout: "single",
    linkCameras: false,
    crossHighlight: null,
    ...viewOptionDefaults(),
  };
}

/** A tiny observable store: `set(patch)` merges and notifies subscribers with the changed keys. */
export class Store {
  constructor(state) {
    this.s = state;
    this.subs = new Set();
  }

  get() {
    return this.s;
  }

  set(patch) {
    const changed = [];
    for (const [k, v] of Object.entries(patch)) {
      if (this.s[k] !== v) {
        this.s[k] = v;
        changed.push(k);
      }
    }
    if (changed.length) for (const fn of [...this.subs]) fn(this.s, new Set(changed));
  }

  /** `fn(state, changedKeys)`; returns an unsubscribe function. */
  subscribe(fn) {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  }
}

let nextId = 1000; // page ids below 1000 are reserved for the first pages
export const newId = () => nextId++;
