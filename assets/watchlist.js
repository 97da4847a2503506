// The watchlist grid's sparkline cell (dashboard/web/callbacks/watchlist.py): the server sends each row's
// picture as an SVG data URI (dashboard/web/figures/sparkline.py); this only places it.
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

dagcomponentfuncs.Sparkline = function (props) {
    if (!props.value) {
        return React.createElement("span", {className: "spark-none"}, "no history yet");
    }
    return React.createElement("img", {
        src: props.value, alt: "total GEX over the stored snapshots", className: "spark",
        width: 110, height: 26,
    });
};
