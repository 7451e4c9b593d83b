// Color maps: categorical palettes and 256-entry lookup tables for continuous maps.
// Named imports only: each scheme d3-scale-chromatic exports parses its colors when the
// module loads, so importing all of them costs tens of ms before the first frame.
import {
  interpolateViridis, interpolateMagma, interpolatePlasma, interpolateInferno, interpolateCividis, interpolateTurbo,
  interpolateBlues, interpolateReds, interpolateGreys, interpolateRdBu, interpolateSpectral,
  schemeTableau10, schemeSet2, schemeDark2, schemePaired,
} from "d3-scale-chromatic";

const chroma = {
  interpolateViridis, interpolateMagma, interpolatePlasma, interpolateInferno, interpolateCividis, interpolateTurbo,
  interpolateBlues, interpolateReds, interpolateGreys, interpolateRdBu, interpolateSpectral,
  schemeTableau10, schemeSet2, schemeDark2, schemePaired,
};

/** Continuous maps offered in the UI (viridis is the default). */
export const COLORMAPS = {
  viridis: chroma.interpolateViridis,
  magma: chroma.interpolateMagma,
  plasma: chroma.interpolatePlasma,
  inferno: chroma.interpolateInferno,
  cividis: chroma.interpolateCividis,
  turbo: chroma.interpolateTurbo,
  blues: chroma.interpolateBlues,
  reds: chroma.interpolateReds,
  greys: chroma.interpolateGreys,
  rdbu: (t) => chroma.interpolateRdBu(1 - t),
  spectral: (t) => chroma.interpolateSpectral(1 - t),
};

/** Parse "#rrggbb", "#rgb" or "rgb(r, g, b)" into [r, g, b] (0–255). */
export function parseColor(s) {
  s = String(s).trim();
  if (s[0] === "#") {
    if (s.length === 4) return [1, 2, 3].map((i) => parseInt(s[i] + s[i], 16));
    return [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
  }
  const m = s.match(/rgba?\(([^)]+)\)/);
  if (m) return m[1].split(",").slice(0, 3).map((x) => Math.round(parseFloat(x)));
  return [128, 128, 128];
}

export const toHex = ([r, g, b]) => "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("");

const lutCache = new Map();
/** A 256×RGB Uint8Array for a continuous map. */
export function lut(name) {
  if (lutCache.has(name)) return lutCache.get(name);
  const f = COLORMAPS[name] || COLORMAPS.viridis;
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) out.set(parseColor(f(i / 255)), i * 3);
  lutCache.set(name, out);
  return out;
}

// Up to 7 categories: Okabe–Ito (distinguishable with the common color-vision deficiencies;
// its black is left out so points stay visible in the dark theme). More categories cannot all
// be told apart by everyone anyway: Tableau 10, then paired/set palettes, then golden-angle hues.
export const OKABE_ITO = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"];
const BASE = [...chroma.schemeTableau10, ...chroma.schemeSet2, ...chroma.schemeDark2, ...chroma.schemePaired];

/** `n` categorical colors as "#rrggbb"; `given` (e.g. from `uns["<field>_colors"]`) wins when valid. */
export function categoricalColors(n, given) {
  if (Array.isArray(given) && given.length >= n && given.every((c) => typeof c === "string")) {
    return given.slice(0, n).map((c) => toHex(parseColor(c)));
  }
  if (n <= OKABE_ITO.length) return OKABE_ITO.slice(0, n);
  const seen = new Set();
  const base = BASE.filter((c) => !seen.has(c) && seen.add(c));
  const out = [];
  for (let i = 0; i < n; i++) {
    if (i < base.length) out.push(base[i]);
    else {
      const h = (i * 137.508) % 360;
      out.push(hsl(h, 0.55 + 0.2 * ((i >> 1) % 2), 0.45 + 0.15 * (i % 3) / 2));
    }
  }
  return out;
}

function hsl(h, s, l) {
  const a = s * Math.min(l, 1 - l);
  const f = (n) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return toHex([f(0), f(8), f(4)]);
}

/** Color of missing values (NaN / missing category). */
export const MISSING_RGB = [170, 170, 170];
