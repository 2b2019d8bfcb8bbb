// The console's calls to its own server. Actions carry the header the server requires of
// them (a cross-site page cannot send it without a preflight the server never approves).

const ACTION_HEADERS = { "X-Reelfarm-Console": "1", "Content-Type": "application/json" };

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || "request failed (" + status + ")");
    this.status = status;
    this.body = body || {};
  }
}

async function answer(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function getJSON(path, params) {
  const query = params ? "?" + new URLSearchParams(params).toString() : "";
  return answer(await fetch(path + query, { cache: "no-store", credentials: "same-origin" }));
}

export async function post(path, text = "{}") {
  return answer(
    await fetch(path, {
      method: "POST",
      body: text,
      headers: ACTION_HEADERS,
      credentials: "same-origin",
    }),
  );
}

export const jobPath = (id) => "/console/data/jobs/" + encodeURIComponent(id);
