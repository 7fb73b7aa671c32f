// The audit chart, drawn by uPlot (vendored in assets/vendor, MIT): one series per category.

const COLOURS = { AUTH: "#c0392b", AUTHZ: "#d68910", AUDIT: "#2471a3", ERROR: "#7d3c98", SYSTEM: "#229954" };
const HEIGHT = 240;

export function drawChart(container, buckets, categories) {
  container.replaceChildren();
  container.dataset.buckets = String(buckets.length);
  container.dataset.series = categories.join(",");
  const uPlot = window.uPlot;
  if (!uPlot) {
    container.textContent = "The chart library did not load.";
    return null;
  }
  const xs = buckets.map((b) => Date.parse(b.start) / 1000);
  const data = [xs, ...categories.map((c) => buckets.map((b) => b.counts[c] || 0))];
  const options = {
    width: Math.max(320, container.clientWidth || 800),
    height: HEIGHT,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: [{}, { label: "records" }],
    series: [
      { label: "hour (UTC)" },
      ...categories.map((c) => ({
        label: c,
        stroke: COLOURS[c],
        fill: `${COLOURS[c]}22`,
        width: 2,
        paths: uPlot.paths.stepped({ align: 1 }),
      })),
    ],
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
  };
  return new uPlot(options, data, container);
}
