// A job's own page: its timeline, video and poster, spec, metadata and webhook deliveries.
import { $, clear, el, statusBadge, seconds, clock } from "./dom.js";
import { getJSON, jobPath } from "./api.js";
import { actionButtons } from "./rows.js";

let shown = null; // the id on the page, and what was last drawn of it
let drawnStatus = null;

export const shownJob = () => shown;

export async function showJob(id) {
  if (shown !== id) drawnStatus = null;
  shown = id;
  let job;
  try {
    job = await getJSON(jobPath(id));
  } catch (error) {
    clear($("#job-timeline"));
    $("#job-id").textContent = id;
    $("#job-error").textContent = error.message;
    return;
  }
  if (shown !== id) return; // another job was opened meanwhile
  draw(job);
}

function draw(job) {
  $("#job-id").textContent = job.id;
  clear($("#job-status")).append(statusBadge(job.status));
  clear($("#job-actions")).append(...actionButtons(job));
  $("#job-error").textContent = job.error ?? "";
  const rows = [
    ["Status", job.status],
    ["API", job.api],
    ["Key", job.owner ?? "—"],
    ["Priority", job.priority],
    ["Created", clock(job.created_at)],
    ["Queued", clock(job.queued_at)],
    ["Position", job.position ?? "—"],
    ["Started", clock(job.started_at)],
    ["Attempts", job.attempts],
    ["Node", job.node ?? "—"],
    ["Progress", (job.progress || 0).toFixed(1) + "%"],
    ["Finished", clock(job.finished_at)],
    ["Duration", seconds(job.duration_s)],
    ["Render time", seconds(job.render_s)],
    ["Encoder", job.encoder ?? "—"],
    ["Size", job.width ? job.width + "×" + job.height + " at " + job.fps + " fps" : "—"],
  ];
  clear($("#job-timeline")).append(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("#job-spec").textContent = JSON.stringify(job.spec, null, 2);
  $("#job-metadata").textContent = JSON.stringify(job.metadata, null, 2);
  $("#job-webhook").textContent = job.webhook_url ?? "no webhook";
  clear($("#job-deliveries tbody")).append(
    ...job.deliveries.map((d) =>
      el(
        "tr",
        {},
        el("td", {}, d.event),
        el("td", {}, d.state),
        el("td", {}, d.attempts),
        el("td", { class: "error" }, d.last_error ?? ""),
        el("td", {}, clock(d.created_at)),
      ),
    ),
  );
  if (drawnStatus !== job.status) {
    // The player is rebuilt only when the job changes state, not on every progress step.
    drawnStatus = job.status;
    const media = clear($("#job-media"));
    if (job.has_video) {
      // The sidecar subtitles as the player's captions track, on by default.
      const captions = job.has_captions
        ? el("track", { kind: "captions", label: "Captions", default: true,
          src: jobPath(job.id) + "/captions.vtt" })
        : null;
      media.append(
        el("video", { controls: true, preload: "metadata", src: jobPath(job.id) + "/video",
          poster: jobPath(job.id) + "/poster" }, captions),
        el("p", {}, el("img", { class: "poster", src: jobPath(job.id) + "/poster", alt: "poster",
          height: 120 })),
      );
    } else {
      media.append(el("p", {}, "no video (" + job.status + ")"));
    }
  }
}
