// The rig page: its health history as charts (the page's only script, so the CSP needs no inline code).
import { rigCharts } from "./charts.js";

const charts = document.querySelector(".rig-charts");
if (charts) rigCharts(charts);
