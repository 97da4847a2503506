/* mmpos clientside linking: hover a shock on the hedging view -> mark its spot on view 1.
 * Moves one shape/annotation named "implied spot" on the drawn gamma chart with Plotly.relayout:
 * no server round trip, no figure rebuild. Returns the implied spot (or null) into a dummy store. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    mmpos: {
        markShockSpot: function (hoverData, result, gammaId) {
            var NAME = "implied spot";
            var host = document.getElementById(gammaId);
            var gd = host && host.querySelector(".js-plotly-plot");
            if (!gd || !gd.layout || !window.Plotly) {
                return null;
            }
            var spot = null;
            var point = hoverData && hoverData.points && hoverData.points[0];
            if (point) {
                var cd = point.customdata;
                if (Array.isArray(cd) && cd.length > 1 && typeof cd[1] === "number") {
                    spot = cd[1];
                } else if (result && typeof result.spot === "number" && typeof point.x === "number") {
                    spot = result.spot * (1 + point.x / 100);
                }
            }
            var shapes = (gd.layout.shapes || []).filter(function (s) { return s.name !== NAME; });
            var notes = (gd.layout.annotations || []).filter(function (a) { return a.name !== NAME; });
            if (spot !== null && isFinite(spot)) {
                shapes.push({
                    type: "line", name: NAME, xref: "x", yref: "paper", x0: spot, x1: spot, y0: 0, y1: 1,
                    layer: "above", line: {color: "#E69F00", width: 2, dash: "dash"}
                });
                notes.push({
                    name: NAME, x: spot, xref: "x", y: 0.02, yref: "paper", yanchor: "bottom",
                    text: "shock spot " + spot.toLocaleString("en-US", {maximumFractionDigits: 0}),
                    showarrow: false, font: {size: 11, color: "#B36B00"}, bgcolor: "rgba(255,255,255,0.9)"
                });
            }
            window.Plotly.relayout(gd, {shapes: shapes, annotations: notes});
            return spot;
        }
    }
});
