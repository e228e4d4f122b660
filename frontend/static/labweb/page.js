// What every page does: keep its relative times ("3 min ago") current.

import { keepRelativeTimes } from "./format.js";

keepRelativeTimes();
