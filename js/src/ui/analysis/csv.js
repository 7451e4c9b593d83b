// CSV text of a table given as columns (the rank_genes answer) and the rows to write, in order.

const quote = (s) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** Numbers in full precision (String round-trips a float64), missing values (null, NaN) empty. */
function cell(v) {
  if (v == null) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  return quote(String(v));
}

/** `rows`: indices into the columns; `names`: the columns to write, in order. */
export function toCSV(columns, names, rows) {
  const lines = [names.map(quote).join(",")];
  for (const i of rows) lines.push(names.map((n) => cell(columns[n][i])).join(","));
  return lines.join("\n") + "\n";
}

/** Save `text` as a file named `name` through a temporary link (what the browser downloads). */
export function download(text, name, type = "text/csv") {
  const blob = new Blob([text], { type });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
