// Ask the app for its greeting through the proxy's /sync-api/ route.
fetch("/sync-api/hello")
  .then((response) => response.json())
  .then((body) => { document.getElementById("hello").textContent = body.message; })
  .catch(() => { document.getElementById("hello").textContent = "(api unreachable)"; });
