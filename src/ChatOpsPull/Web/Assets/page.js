// ChatOpsPull's own page: asks before risky buttons (data-confirm) and refreshes the cards without a full reload.
(() => {
  'use strict';

  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const question = form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    form.querySelectorAll('button').forEach((button) => { button.disabled = true; });
  });

  const cards = document.getElementById('cards');
  const status = document.getElementById('refresh-status');
  const seconds = cards ? Number(cards.dataset.refreshSeconds) : 0;
  if (!cards || !(seconds > 0)) return;

  let busy = false;
  const say = (text) => { if (status) status.textContent = text; };

  async function refresh() {
    // Not while the tab is hidden, a request is under way, or someone is about to press a card's button.
    if (busy || document.hidden) return;
    const active = document.activeElement;
    if (active && active.tagName === 'BUTTON' && cards.contains(active)) return;
    busy = true;
    try {
      const response = await fetch(cards.dataset.refreshUrl, {
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'manual',
        headers: { Accept: 'text/plain, */*' },
      });
      if (response.ok) {
        cards.innerHTML = await response.text();
        say('Updated ' + new Date().toLocaleTimeString());
      } else if (response.type === 'opaqueredirect' || response.status === 401 || response.status === 403) {
        say('You are signed out: reload the page to sign in again.');
      } else {
        say('The bot answered ' + response.status + '; trying again shortly.');
      }
    } catch (error) {
      say('Could not reach the bot; trying again shortly.');
    } finally {
      busy = false;
    }
  }

  window.setInterval(refresh, seconds * 1000);
})();
