// Numbers as the page shows them (legends, figures, panels).

export const fmt = (x) =>
  x == null || !Number.isFinite(x) ? "–" : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-2 && x !== 0) ? x.toExponential(2) : +x.toFixed(3) + "";

// Thousands separators by hand: the first toLocaleString call loads locale data (~70 ms).
export const fmtInt = (n) =>
  Number.isInteger(n) ? String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",") : n.toLocaleString("en-US");
