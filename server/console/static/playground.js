// The playground: check a spec as the API would, and render a small preview of it.
import { $, clear, el } from "./dom.js";
import { ApiError, jobPath, post } from "./api.js";

const EXAMPLE = {
  theme: "minimal",
  width: 180,
  height: 320,
  fps: 10,
  scenes: [{ type: "title", title: "Hello from the playground", duration: 1 }],
};
let previewId = null;

export function setupPlayground() {
  const area = $("#pg-spec");
  if (!area.value) area.value = JSON.stringify(EXAMPLE, null, 2);
  $("#pg-check").addEventListener("click", check);
  $("#pg-preview").addEventListener("click", preview);
}

function showErrors(errors) {
  clear($("#pg-errors")).append(
    ...errors.map((e) =>
      el("li", { dataset: { field: e.field } }, el("code", {}, e.field), ": ", e.message),
    ),
  );
}

async function check() {
  $("#pg-state").textContent = "checking…";
  try {
    const answer = await post("/console/data/validate", $("#pg-spec").value);
    showErrors(answer.errors);
    $("#pg-state").textContent = answer.valid ? "valid" : answer.errors.length + " problem(s)";
  } catch (error) {
    failed(error);
  }
}

async function preview() {
  $("#pg-state").textContent = "submitting…";
  clear($("#pg-media"));
  try {
    const job = await post("/console/data/preview", $("#pg-spec").value);
    showErrors([]);
    previewId = job.id;
    $("#pg-state").textContent = "preview " + job.id + ": " + job.status;
  } catch (error) {
    failed(error);
  }
}

function failed(error) {
  if (error instanceof ApiError && error.body.errors) {
    showErrors(error.body.errors);
    $("#pg-state").textContent = error.body.errors.length + " problem(s)";
  } else {
    $("#pg-state").textContent = error.message;
  }
}

// From the push: the preview job changed state.
export function previewChanged(job) {
  if (job.id !== previewId) return;
  $("#pg-state").textContent = "preview " + job.id + ": " + job.status;
  if (job.status === "completed") {
    clear($("#pg-media")).append(
      el("video", { controls: true, autoplay: true, muted: true, src: jobPath(job.id) + "/video" }),
    );
  } else if (job.error) {
    clear($("#pg-media")).append(el("p", { class: "error" }, job.error));
  }
}
