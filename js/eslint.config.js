// ESLint (flat config), run by `npm --prefix js run lint` and by .ci/run after ruff.
// A modest rule set on purpose: real mistakes only (undefined or unused names,
// redeclarations, loose equality where it matters), no formatting rules — several people
// edit js/ at once and a mass reformat would collide with all of them.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    files: ["src/**/*.js", "widget/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      ...js.configs.recommended.rules,
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
      eqeqeq: ["error", "smart"],
    },
  },
  {
    files: ["build.mjs", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
    rules: { ...js.configs.recommended.rules },
  },
];
