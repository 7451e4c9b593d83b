// One build script for everything the Python package ships from js/:
//   (a) the standalone viewer: src/main.js -> ../cellucid/static/viewer/assets/app.js (+ app.css),
//       src/index.html (+ src/boot.js inlined) -> ../cellucid/static/viewer/index.html
//   (b) the anywidget front end, if js/widget/index.js exists -> ../cellucid/static/widget/widget.js (ESM)
// Usage: `npm run build` (add `-- --watch` to rebuild on change, `-- --dev` for unminified output).
import * as esbuild from "esbuild";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const staticDir = join(here, "..", "cellucid", "static");
const viewerDir = join(staticDir, "viewer");
const watch = process.argv.includes("--watch");
const dev = process.argv.includes("--dev") || watch;

const common = {
  bundle: true,
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  target: ["es2020"],
  logLevel: "info",
  legalComments: "none",
};

const builds = [
  {
    ...common,
    entryPoints: { app: join(here, "src", "main.js") },
    outdir: join(viewerDir, "assets"),
    format: "esm",
    loader: { ".css": "css" },
  },
];

const widgetEntry = join(here, "widget", "index.js");
if (existsSync(widgetEntry)) {
  builds.push({
    ...common,
    entryPoints: [widgetEntry],
    outfile: join(staticDir, "widget", "widget.js"),
    format: "esm",
  });
}

// index.html gets the boot script (src/boot.js) inlined at <!-- cellucid:boot -->: it starts
// the first frame's requests before assets/app.js has arrived.
async function writeIndex() {
  const boot = await esbuild.build({
    ...common,
    logLevel: "warning",
    entryPoints: [join(here, "src", "boot.js")],
    format: "iife",
    sourcemap: false,
    write: false,
  });
  const js = boot.outputFiles[0].text.trim().replace(/<\/script/gi, "<\\/script");
  const html = readFileSync(join(here, "src", "index.html"), "utf8");
  if (!html.includes(BOOT_MARK)) throw new Error(`src/index.html lacks ${BOOT_MARK}`);
  writeFileSync(join(viewerDir, "index.html"), html.replace(BOOT_MARK, `<script>${js}</script>`));
}
const BOOT_MARK = "<!-- cellucid:boot -->";

mkdirSync(viewerDir, { recursive: true });
await writeIndex();

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
