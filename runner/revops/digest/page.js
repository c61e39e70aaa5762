// The charts of the daily digest: reads the inline JSON blob (#digest-data) and draws four
// ECharts charts. No numbers are computed here; the SQL did that. Text from the database goes
// to ECharts as plain text (canvas) and tooltips use richText, never HTML.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("digest-data").textContent);
  var charts = [];
  var palette = ["#2563eb", "#16a34a", "#f59e0b", "#9333ea", "#64748b", "#dc2626"];
  var base = {
    animation: false,
    color: palette,
    tooltip: { trigger: "axis", renderMode: "richText", confine: true },
    legend: { top: 0, type: "scroll" },
    grid: { left: 56, right: 56, top: 36, bottom: 32 }
  };

  function merged(extra) {
    var out = {};
    Object.keys(base).forEach(function (k) { out[k] = base[k]; });
    Object.keys(extra).forEach(function (k) { out[k] = extra[k]; });
    return out;
  }

  function draw(id, option, empty) {
    var el = document.getElementById(id);
    var chart = echarts.init(el, null, { renderer: "canvas" });
    if (empty) {
      option = {
        animation: false,
        title: { text: empty, left: "center", top: "middle",
                 textStyle: { color: "#616e7c", fontSize: 13, fontWeight: "normal" } }
      };
    }
    chart.setOption(option);
    charts.push(chart);
  }

  function column(name) {
    return data.series.map(function (row) { return row[name]; });
  }

  var days = data.series.map(function (row) { return row.metric_date.slice(5); });
  var noDays = days.length ? null : "no computed days in this window";

  draw("chart-trend", merged({
    xAxis: { type: "category", data: days },
    yAxis: [
      { type: "value", minInterval: 1 },
      { type: "value", minInterval: 1, splitLine: { show: false } }
    ],
    series: [
      { name: "New leads", type: "line", data: column("new_leads"), connectNulls: false },
      { name: "SQLs", type: "line", data: column("sqls") },
      { name: "Opportunities", type: "line", data: column("opportunities_created") },
      { name: "Activities", type: "bar", yAxisIndex: 1, data: column("total_activities"),
        itemStyle: { opacity: 0.35 } }
    ]
  }), noDays);

  draw("chart-money", merged({
    xAxis: { type: "category", data: days },
    yAxis: { type: "value" },
    series: [
      { name: "Pipeline created", type: "bar", data: column("pipeline_amount_created") },
      { name: "Revenue won", type: "bar", data: column("revenue_won") }
    ]
  }), noDays);

  var reps = data.top_reps.slice().reverse();  // the best at the top of a horizontal bar chart
  draw("chart-reps", merged({
    tooltip: { trigger: "axis", renderMode: "richText", confine: true,
               axisPointer: { type: "shadow" } },
    grid: { left: 8, right: 24, top: 36, bottom: 24, containLabel: true },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: reps.map(function (r) { return r.rep_label; }),
             axisLabel: { width: 140, overflow: "truncate" } },
    series: [
      { name: "Revenue won", type: "bar", data: reps.map(function (r) { return r.revenue_won_7d; }) },
      { name: "Pipeline created", type: "bar",
        data: reps.map(function (r) { return r.pipeline_amount_created_7d; }) }
    ]
  }), reps.length ? null : "no rep activity or pipeline in these 7 days");

  var total = data.funnel.filter(function (r) { return r.is_total; })[0];
  var steps = total ? [
    { name: "New leads", value: total.new_leads },
    { name: "SQLs", value: total.sqls },
    { name: "Opportunities", value: total.opportunities_created }
  ] : [];
  draw("chart-funnel", {
    animation: false,
    color: palette,
    tooltip: { trigger: "item", renderMode: "richText", confine: true },
    series: [{
      name: "Funnel, 28 days", type: "funnel", sort: "none", left: "10%", width: "80%",
      top: 16, bottom: 16, minSize: "8%", gap: 4,
      label: { show: true, position: "inside", formatter: "{b}: {c}" },
      data: steps
    }]
  }, steps.length ? null : "no funnel rows in these 28 days");

  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
  document.body.setAttribute("data-charts", String(charts.length));
})();
