// The viewer's state as plain JSON-able values: what `window.cellucid.state()` returns to
// tests and scripts, what the bridge reports and what "ready" resolves with. Read-only.

/** Plain description of what `app` shows now (snake_case keys, like Python's side). */
export function describeApp(app) {
  const s = app.store.get();
  const nSelected = s.selection.length;
  return {
    n_cells: app.n,
    embedding: s.embedding,
    dimension: s.dimension,
    color_by: s.colorBy ? s.colorBy.name : null,
    color_by_kind: s.colorBy ? s.colorBy.kind : null,
    // what the canvas shows now (color_by is what was asked for; its data may still be loading)
    colored_by: app.colorColumn && app.colorColumn.kind !== "none" ? app.colorColumn.name : null,
    colormap: s.colormap,
    color_range: app.colorRangeNow(),
    nav_mode: s.navMode,
    tool: s.tool,
    hidden_categories: s.hiddenCategories,
    filters: s.filters.map(({ column, keep, ...f }) => ({ ...f, keep: keep ? [...keep] : undefined })),
    visible_count: app.visibleCount,
    // progressive loading: cells whose coordinates are in (n_cells once all arrived)
    cells_loaded: app.geom ? app.n - app.geom.nInvalid : 0,
    all_cells_loaded: !!app.geom && app.geomCache.get(`${s.embedding}|${s.dimension}`) === app.geom,
    selection_count: nSelected,
    selected: Array.from(s.selection),
    selection_source: s.selectionSource,
    highlight_groups: s.highlightGroups.map((g) => ({ name: g.name, color: g.color, count: g.cells.length, visible: g.visible })),
    group_pages: s.groupPages.map((p) => p.name),
    groups_by_page: Object.fromEntries(s.groupPages.map((p) => [p.name, s.highlightGroups.filter((g) => (g.page ?? s.activePage) === p.id).map((g) => g.name)])),
    active_page: app.pageName(s.activePage),
    proximity_radius: app.neighborhoods.radius(),
    knn_k: s.knnK,
    cvd: s.cvd,
    ...app.vectors.describe(),
    point_size: s.pointSize,
    opacity: s.opacity,
    theme: s.theme,
    camera: app.camera.snapshot(),
    frames: app.renderer.frames,
    renderer: app.renderer.kind,
    render_mode: s.renderMode,
    sort_order: s.sortOrder,
    zero_neutral: s.zeroNeutral,
    labels: s.labels,
    edges: s.edges,
    ready: app.isReady,
    // views, layout, linked cameras, cross-highlight (ui/views.js)
    ...(app.viewManager ? app.viewManager.describe() : {}),
  };
}
