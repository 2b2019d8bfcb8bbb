// The console's entry point: the routes (#/, #/job/<id>, #/playground), the push stream, and
// the dashboard it keeps current without a reload.
import { $, clear, el, seconds } from "./dom.js";
import { getJSON, post, jobPath } from "./api.js";
import { jobRow, queueRow, runningRow } from "./rows.js";
import { showJob, shownJob } from "./job.js";
import { setupPlayground, previewChanged } from "./playground.js";

const RECONNECT_MS = 2000;
let filters = { status: "", api: "", owner: "", q: "" };
let lastOverview = null;

function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = !text;
}

// ---- routes ------------------------------------------------------------------------------
function route() {
  const hash = location.hash || "#/";
  const jobMatch = hash.match(/^#\/job\/(.+)$/);
  $("#dashboard-view").hidden = !(hash === "#/" || hash === "#");
  $("#job-view").hidden = !jobMatch;
  $("#playground-view").hidden = hash !== "#/playground";
  if (jobMatch) showJob(decodeURIComponent(jobMatch[1]));
}

// ---- the dashboard -----------------------------------------------------------------------
function figure(label, value, extra = "") {
  return el("div", { class: "figure " + extra, dataset: { figure: label } }, label, el("b", {}, value));
}

function drawOverview(overview) {
  lastOverview = overview;
  const farm = overview.farm;
  $("#viewer").textContent = (farm.viewer ?? "anonymous") + (farm.operator ? " (operator)" : "");
  const holding = farm.holding ? "holding: " + farm.holding : "admitting";
  const gates = farm.gates || {};
  clear($("#farm-figures")).append(
    el(
      "div",
      { class: "figures" },
      figure("Slots busy", farm.busy + " / " + farm.slots),
      figure("Slots free", farm.free),
      figure("Queued", farm.queue_length),
      figure("Oldest wait", seconds(farm.oldest_wait_s)),
      figure("Gate", holding, farm.holding ? "holding" : ""),
      figure("CPU", gates.cpu_percent !== undefined ? gates.cpu_percent + "%" : "—"),
      figure("Free memory", gates.available_memory_mb !== undefined ? gates.available_memory_mb + " MB" : "—"),
      farm.draining ? figure("Node", "draining", "holding") : "",
    ),
  );
  clear($("#nodes tbody")).append(
    ...farm.nodes.map((n) =>
      el(
        "tr",
        { dataset: { node: n.id } },
        el("td", {}, n.id, n.id === farm.node ? " (this node)" : ""),
        el("td", {}, n.busy + " / " + n.free),
        el("td", {}, n.encoder),
        el("td", {}, n.gpu ?? "none"),
        el("td", {}, n.version),
      ),
    ),
  );
  clear($("#queue tbody")).append(...overview.queue.map(queueRow));
  clear($("#running tbody")).append(...overview.running.map(runningRow));
  $("#purge").disabled = farm.queue_length === 0;
}

function matchesFilters(job) {
  return (
    (!filters.status || job.status === filters.status) &&
    (!filters.api || job.api === filters.api) &&
    (!filters.owner || job.owner === filters.owner) &&
    (!filters.q || job.id === filters.q)
  );
}

let jobsTotal = 0;
let totalIsLowerBound = false;

function showTotal() {
  $("#jobs-total").textContent = jobsTotal + (totalIsLowerBound ? "+" : "") + " job(s)";
}

async function loadJobs() {
  const params = Object.fromEntries(Object.entries(filters).filter(([, v]) => v));
  params.limit = "50";
  try {
    const page = await getJSON("/console/data/jobs", params);
    clear($("#jobs tbody")).append(...page.jobs.map(jobRow));
    jobsTotal = page.total;
    totalIsLowerBound = Boolean(page.total_is_lower_bound);
    showTotal();
    notice("");
  } catch (error) {
    notice(error.message);
  }
}

async function loadOverview() {
  try {
    drawOverview(await getJSON("/console/data/overview"));
  } catch (error) {
    notice(error.message);
  }
}

// A job changed state: its row is replaced, added on top, or removed when the filters no
// longer match it.
function jobChanged(job) {
  const body = $("#jobs tbody");
  const old = body.querySelector(`tr[data-job-id="${CSS.escape(job.id)}"]`);
  if (matchesFilters(job)) {
    const row = jobRow(job);
    if (old) {
      old.replaceWith(row);
    } else {
      body.prepend(row);
      jobsTotal += 1;
      showTotal();
    }
  } else if (old) {
    old.remove();
  }
  if (shownJob() === job.id && !$("#job-view").hidden) showJob(job.id);
  previewChanged(job);
}

// ---- actions -----------------------------------------------------------------------------
async function act(button) {
  const { action, job } = button.dataset;
  button.disabled = true;
  try {
    const changed = await post(jobPath(job) + "/" + action);
    jobChanged(changed);
    notice("");
  } catch (error) {
    notice(action + " " + job + ": " + error.message);
  } finally {
    button.disabled = false;
  }
}

function setupActions() {
  document.body.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) act(button);
  });
  const dialog = $("#confirm-purge");
  $("#purge").addEventListener("click", () => dialog.showModal());
  $("#purge-no").addEventListener("click", () => dialog.close());
  $("#purge-yes").addEventListener("click", async () => {
    dialog.close();
    try {
      const answer = await post("/console/data/purge");
      notice(answer.purged + " queued job(s) purged");
    } catch (error) {
      notice("purge: " + error.message);
    }
  });
  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    filters = Object.fromEntries(["status", "api", "owner", "q"].map((k) => [k, String(form.get(k) || "").trim()]));
    loadJobs();
  });
}

// ---- the push ----------------------------------------------------------------------------
function setFeed(state) {
  const badge = $("#feed-state");
  badge.dataset.state = state;
  badge.textContent = state;
}

function connect() {
  const source = new EventSource("/console/feed");
  let lost = false;
  source.addEventListener("open", () => {
    setFeed("live");
    if (lost) resync(); // changes made while away were not pushed
    lost = false;
  });
  source.addEventListener("overview", (event) => drawOverview(JSON.parse(event.data)));
  source.addEventListener("job", (event) => jobChanged(JSON.parse(event.data)));
  source.addEventListener("resync", resync);
  source.addEventListener("error", () => {
    lost = true;
    setFeed("reconnecting");
    if (source.readyState === EventSource.CLOSED) {
      // Refused outright (the server answering 503 while it starts): the browser gives up,
      // so the page tries again itself.
      setTimeout(connect, RECONNECT_MS);
    }
  });
}

function resync() {
  loadJobs();
  loadOverview();
  if (shownJob() && !$("#job-view").hidden) showJob(shownJob());
}

// Running rows' ETA moves with the clock between pushes.
setInterval(() => {
  if (lastOverview) clear($("#running tbody")).append(...lastOverview.running.map(runningRow));
}, 1000);

setupActions();
setupPlayground();
window.addEventListener("hashchange", route);
route();
loadJobs();
connect();
