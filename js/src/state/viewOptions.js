// How one view draws its cells, beyond what it shows (issue 19): render mode, the smoke
// parameters, expression draw order and zero colour, centroid labels, neighbour-graph edges.
// Plain values in the store (state/store.js spreads them in), so each view can carry its own.

/** Defaults of the per-view drawing options. */
export function viewOptionDefaults() {
  return {
    renderMode: "points", // points | smoke (smoke: 3D only, render/smoke.js)
    // density: absorption ×; threshold: voxel density (0–1 of the densest voxels) below which
    // the cloud is clear; grid: voxels per side on the GPU (the CPU uses a coarser one);
    // color: "field" = the colours of the current colouring (field or gene), or "#rrggbb"
    smoke: { density: 1, threshold: 0.05, grid: 64, color: "field" },
    sortOrder: true, // continuous colours: higher values drawn on top (scanpy's sort_order)
    zeroNeutral: false, // continuous colours: cells with value exactly 0 in a neutral grey
    labels: false, // category names at their centroids (scanpy's legend_loc="on data")
    edges: false, // the neighbour graph (obsp["connectivities"]) as faint lines
  };
}
