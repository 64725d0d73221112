/*
 * Shopdesk chat widget. A shop adds one tag to its pages:
 *
 *   <script src="https://GATEWAY/widget.js" defer></script>
 *
 * and gets a round chat button at the bottom right that opens the gateway's chat
 * page (GATEWAY/?embed=1) in an iframe: 380x600 on larger screens, full screen
 * on phones. The chat itself runs in the iframe, on the gateway's origin, under
 * the gateway's Content-Security-Policy; this script only draws the button.
 *
 * It lives in someone else's page, so: everything sits in one shadow root (the
 * shop's CSS does not reach in, ours does not leak out), the only global is
 * window.Shopdesk, no markup is built from strings, and the iframe is created on
 * the first open, so visitors who never chat open no connection.
 * A shop may recolour it: `:root { --shopdesk-accent: #0a7d4f; }`.
 */
(() => {
  "use strict";

  const script = document.currentScript || document.querySelector('script[src$="/widget.js"]');
  const namespace = (window.Shopdesk = window.Shopdesk || {});
  if (!script || !script.src || namespace.widget) return; // unknown origin, or pasted twice
  const chatUrl = `${new URL(script.src, location.href).origin}/?embed=1`;
  const SVG = "http://www.w3.org/2000/svg";
  const CHAT_ICON = "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 4v-4.1A2.5 2.5 0 0 1 4 13.5z";
  const CLOSE_ICON = "M6 6l12 12M18 6L6 18";

  const CSS = `
    :host { all: initial !important; } /* the shop's rules cannot move or hide us */
    .launcher, .panel { position: fixed; z-index: 2147483000; }
    .launcher {
      right: 20px; bottom: 20px; width: 56px; height: 56px; padding: 0;
      display: flex; align-items: center; justify-content: center;
      border: 0; border-radius: 50%; cursor: pointer;
      background: var(--shopdesk-accent, #2f5bd3); color: var(--shopdesk-accent-text, #fff);
      box-shadow: 0 4px 14px rgba(0, 0, 0, 0.25);
      transition: transform 0.15s ease;
    }
    .launcher:hover { transform: scale(1.06); }
    .launcher:focus-visible, .close:focus-visible {
      outline: 3px solid var(--shopdesk-accent, #2f5bd3); outline-offset: 3px;
    }
    .launcher svg { width: 28px; height: 28px; }
    .launcher[aria-expanded="true"] .icon-open, .launcher[aria-expanded="false"] .icon-close { display: none; }
    .panel {
      right: 20px; bottom: 88px; width: 380px; height: 600px;
      max-width: calc(100vw - 40px); max-height: calc(100vh - 108px);
      display: flex; flex-direction: column; overflow: hidden;
      border-radius: 16px; background: #fff; box-shadow: 0 12px 40px rgba(0, 0, 0, 0.28);
    }
    .panel[hidden] { display: none; }
    .bar {
      flex: 0 0 auto; display: flex; align-items: center; justify-content: space-between;
      height: 48px; padding: 0 4px 0 16px;
      background: var(--shopdesk-accent, #2f5bd3); color: var(--shopdesk-accent-text, #fff);
      font: 600 15px/1.2 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
    }
    .close {
      width: 44px; height: 44px; padding: 10px; border: 0; border-radius: 8px;
      background: transparent; color: inherit; cursor: pointer;
    }
    .close svg { width: 24px; height: 24px; display: block; }
    iframe { flex: 1 1 auto; width: 100%; min-height: 0; border: 0; display: block; background: #fff; }
    @media (max-width: 480px) {
      .panel {
        inset: 0; width: 100%; height: 100%; max-width: none; max-height: none; border-radius: 0;
      }
      .launcher[aria-expanded="true"] { display: none; }
    }
    @media (prefers-reduced-motion: reduce) { .launcher { transition: none; } }
  `;

  function icon(path, className) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("fill", "none");
    svg.setAttribute("stroke", "currentColor");
    svg.setAttribute("stroke-width", "2");
    svg.setAttribute("stroke-linecap", "round");
    svg.setAttribute("stroke-linejoin", "round");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    if (className) svg.setAttribute("class", className);
    const shape = document.createElementNS(SVG, "path");
    shape.setAttribute("d", path);
    svg.append(shape);
    return svg;
  }

  function element(tag, attributes) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    return node;
  }

  function addStyles(shadow) {
    try {
      const sheet = new CSSStyleSheet(); // not subject to the host page's style-src
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch {
      const style = document.createElement("style");
      style.textContent = CSS;
      shadow.append(style);
    }
  }

  function mount() {
    const host = element("div", { "data-shopdesk-widget": "" });
    const shadow = host.attachShadow({ mode: "open" });
    addStyles(shadow);

    const launcher = element("button", {
      type: "button",
      class: "launcher",
      "aria-label": "Open chat",
      "aria-expanded": "false",
      "aria-controls": "shopdesk-panel",
    });
    launcher.append(icon(CHAT_ICON, "icon-open"), icon(CLOSE_ICON, "icon-close"));

    const panel = element("div", { id: "shopdesk-panel", class: "panel", role: "dialog", "aria-label": "Chat with us" });
    panel.hidden = true;
    const bar = element("div", { class: "bar" });
    const title = element("span", {});
    title.textContent = "Chat with us";
    const closeButton = element("button", { type: "button", class: "close", "aria-label": "Close chat" });
    closeButton.append(icon(CLOSE_ICON));
    bar.append(title, closeButton);
    panel.append(bar);
    shadow.append(panel, launcher);
    document.body.append(host);

    let frame = null;

    function open() {
      if (!frame) {
        frame = element("iframe", { src: chatUrl, title: "Shopdesk chat" });
        panel.append(frame);
      }
      panel.hidden = false;
      launcher.setAttribute("aria-expanded", "true");
      frame.focus();
    }

    function close() {
      if (panel.hidden) return;
      const hadFocus = shadow.activeElement !== null; // in the panel (or its iframe)
      panel.hidden = true;
      launcher.setAttribute("aria-expanded", "false");
      if (hadFocus) launcher.focus();
    }

    const toggle = () => (panel.hidden ? open() : close());

    launcher.addEventListener("click", toggle);
    closeButton.addEventListener("click", close);
    shadow.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
    namespace.widget = { open, close, toggle };
  }

  namespace.widget = { pending: true }; // claims the name at once, so a second copy backs off
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
