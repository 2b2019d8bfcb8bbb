// Table rows of the dashboard: the queue, the renders in flight, and the job list.
import { el, jobLink, statusBadge, seconds, ago, clock } from "./dom.js";
import { jobPath } from "./api.js";

export function actionButtons(job) {
  const buttons = [];
  if (job.status === "queued" || job.status === "processing") {
    buttons.push(el("button", { type: "button", dataset: { action: "cancel", job: job.id } }, "Cancel"));
  }
  if (job.status === "failed" || job.status === "cancelled") {
    buttons.push(el("button", { type: "button", dataset: { action: "retry", job: job.id } }, "Retry"));
  }
  return buttons;
}

export function etaOf(job, now = Date.now() / 1000) {
  if (!job.started_at || !job.progress || job.progress <= 0) return null;
  const elapsed = Math.max(0, now - job.started_at);
  return (elapsed * (100 - job.progress)) / job.progress;
}

export function queueRow(job) {
  return el(
    "tr",
    { dataset: { jobId: job.id, status: job.status } },
    el("td", {}, job.position ?? ""),
    el("td", {}, jobLink(job.id)),
    el("td", {}, job.api),
    el("td", {}, job.priority),
    el("td", {}, ago(job.queued_at)),
    el("td", {}, actionButtons(job)),
  );
}

export function runningRow(job) {
  const frames = job.frames_total ? job.frames_done + " / " + job.frames_total + " frames" : "";
  return el(
    "tr",
    { dataset: { jobId: job.id, status: job.status } },
    el("td", {}, jobLink(job.id)),
    el("td", {}, job.api),
    el("td", {}, job.node ?? "—"),
    el(
      "td",
      {},
      el("progress", { max: 100, value: job.progress || 0 }),
      " ",
      el("span", { class: "percent" }, (job.progress || 0).toFixed(0) + "%"),
      " ",
      frames,
    ),
    el("td", { class: "eta" }, seconds(etaOf(job))),
    el("td", {}, actionButtons(job)),
  );
}

export function jobRow(job) {
  const poster = job.has_video
    ? el("img", { class: "thumb", src: jobPath(job.id) + "/poster", alt: "poster", loading: "lazy" })
    : "";
  return el(
    "tr",
    { dataset: { jobId: job.id, status: job.status } },
    el("td", {}, poster),
    el("td", {}, jobLink(job.id)),
    el("td", {}, statusBadge(job.status)),
    el("td", {}, job.api),
    el("td", {}, job.owner ?? "—"),
    el("td", {}, seconds(job.duration_s)),
    el("td", {}, seconds(job.render_s)),
    el("td", {}, job.encoder ?? "—"),
    el("td", {}, clock(job.finished_at)),
    el("td", { class: "error" }, job.error ?? ""),
    el("td", {}, actionButtons(job)),
  );
}
