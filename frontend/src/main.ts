// IMIS front-end entry. Loaded by Django as <script type="module" src="...">.
// Everything here is wired through data attributes and delegated listeners:
// the site runs under a strict CSP (script-src 'self', no eval, no inline).
import "./styles/main.css";
import "bootstrap"; // data-API: dropdowns, collapse, modals, alerts, ...
import htmx from "htmx.org";

declare global {
  interface Window {
    htmx: typeof htmx;
  }
}

// --- htmx ----------------------------------------------------------------
// Set before htmx processes the document (module scripts run before
// DOMContentLoaded). The server's <meta name="htmx-config"> is merged on top
// of this at DOMContentLoaded, so it must not re-enable these two.
htmx.config.allowEval = false;
htmx.config.allowScriptTags = false;
window.htmx = htmx;

document.documentElement.classList.add("js");

const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function csrfToken(): string | null {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]');
  return meta?.content || null;
}

document.addEventListener("htmx:configRequest", (event) => {
  const detail = (event as CustomEvent<{ verb: string; headers: Record<string, string> }>).detail;
  const token = csrfToken();
  if (token && UNSAFE_METHODS.has(detail.verb.toUpperCase())) {
    detail.headers["X-CSRFToken"] = token;
  }
});

// --- [data-confirm] -------------------------------------------------------
// Capture phase on document, so this runs before htmx and Bootstrap listeners
// on the target and can cancel them.
function confirmed(el: Element): boolean {
  const message = el.getAttribute("data-confirm");
  return !message || window.confirm(message);
}

function cancel(event: Event): void {
  event.preventDefault();
  event.stopImmediatePropagation();
}

document.addEventListener(
  "click",
  (event) => {
    const target = event.target;
    if (!(target instanceof Element)) return;
    const el = target.closest("a[data-confirm], button[data-confirm], input[data-confirm]");
    if (el && !confirmed(el)) cancel(event);
  },
  true,
);

document.addEventListener(
  "submit",
  (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
    // Already asked when the submit button itself carries data-confirm.
    if ((event as SubmitEvent).submitter?.hasAttribute("data-confirm")) return;
    if (!confirmed(form)) cancel(event);
  },
  true,
);

// --- form[data-autosubmit] select ----------------------------------------
document.addEventListener("change", (event) => {
  const target = event.target;
  if (!(target instanceof HTMLSelectElement)) return;
  const form = target.closest<HTMLFormElement>("form[data-autosubmit]");
  if (!form) return;
  // requestSubmit() fires the submit event (validation, htmx, data-confirm).
  if (typeof form.requestSubmit === "function") form.requestSubmit();
  else form.submit();
});

// --- [data-copy-target="#id"] --------------------------------------------
const COPY_FEEDBACK_MS = 2000;

async function copyText(text: string, source: Element): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // permission denied etc.: try the legacy path below
    }
  }
  // Fallback for plain-http setups and browsers without the Clipboard API.
  const field = document.createElement("textarea");
  field.value = text;
  field.setAttribute("readonly", "");
  field.className = "position-fixed top-0 start-0 opacity-0";
  source.after(field);
  field.select();
  const ok = document.execCommand("copy");
  field.remove();
  if (!ok) throw new Error("copy failed");
}

function flashLabel(button: HTMLElement, label: string): void {
  const timer = Number(button.dataset.copyTimer);
  if (timer) {
    window.clearTimeout(timer);
  } else {
    button.dataset.copyOriginal = button.innerHTML;
  }
  button.textContent = label;
  button.classList.add("is-copied");
  button.dataset.copyTimer = String(
    window.setTimeout(() => {
      button.innerHTML = button.dataset.copyOriginal ?? "";
      button.classList.remove("is-copied");
      delete button.dataset.copyOriginal;
      delete button.dataset.copyTimer;
    }, COPY_FEEDBACK_MS),
  );
}

document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof Element)) return;
  const button = target.closest<HTMLElement>("[data-copy-target]");
  if (!button) return;
  event.preventDefault();
  const selector = button.dataset.copyTarget ?? "";
  let source: Element | null = null;
  try {
    source = document.querySelector(selector);
  } catch {
    source = null; // invalid selector
  }
  if (!source) return;
  const text =
    source instanceof HTMLInputElement || source instanceof HTMLTextAreaElement
      ? source.value
      : (source.textContent ?? "").trim();
  copyText(text, source).then(
    () => flashLabel(button, button.dataset.copiedText ?? "Copied"),
    () => flashLabel(button, button.dataset.copyFailedText ?? "Copy failed"),
  );
});

// --- [data-sidebar-toggle] -------------------------------------------------
function setSidebar(open: boolean): void {
  document.body.classList.toggle("sidebar-open", open);
  for (const toggle of document.querySelectorAll("[data-sidebar-toggle]")) {
    toggle.setAttribute("aria-expanded", String(open));
  }
}

document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof Element)) return;
  const isOpen = document.body.classList.contains("sidebar-open");
  if (target.closest("[data-sidebar-toggle]")) {
    setSidebar(!isOpen);
  } else if (isOpen && !target.closest(".app-sidebar")) {
    setSidebar(false); // click on the backdrop / content closes it
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && document.body.classList.contains("sidebar-open")) {
    setSidebar(false);
  }
});

// Close the off-canvas sidebar after htmx-boosted navigation (URL change).
document.addEventListener("htmx:pushedIntoHistory", () => {
  if (document.body.classList.contains("sidebar-open")) setSidebar(false);
});
