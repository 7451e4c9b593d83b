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
