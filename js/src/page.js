// The page's own parameters: the URL query (`?embed=1&token=..&renderer=..`) and fragment.
// A viewer served over HTTP reads them from its address. A viewer that the notebook widget
// writes into its output (the comm transport, js/widget/inline.js) has no address of its own
// (about:srcdoc): the widget hands it the same query as `window.__cellucidPage.search`.

/** The query string the viewer was opened with ("?a=b" or ""). */
export function pageSearch(win = window) {
  const page = win.__cellucidPage;
  return page && typeof page.search === "string" ? page.search : win.location.search;
}

/** How this page reaches its data: "comm" (through the widget) or "http" (its own origin). */
export function pageTransport(win = window) {
  const page = win.__cellucidPage;
  return page && page.transport === "comm" ? "comm" : "http";
}

/** Offer `blob` to the user as a file called `name` (the browser's download). */
export function downloadFile(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
