// The plan: subscription status and usage, Stripe Checkout for monthly or yearly, cancel, portal.
// Stripe sends the browser back to FRONTEND_URL/payment/success?session_id=… (the server turns
// that into #/plan?session_id=…), where the payment is verified.
import { h, replace } from '../dom.js';
import { actionButton } from '../forms.js';

export async function renderPlan(app, { query, view }) {
  const t = (k, p) => app.t(k, p);
  if (!app.config?.features?.payments) {
    replace(view, h('h1', {}, t('plan.title')), h('p', {}, t('plan.not_configured')));
    return;
  }
  let status;
  const sessionId = query.get('session_id');
  if (sessionId) {
    try {
      status = await app.api.post('/api/verify-payment', { session_id: sessionId });
      app.pendingNotice = null;
      app.notify(t('plan.thanks'), 'info');
    } catch (error) {
      app.notify(error.code === 'conflict' ? t('plan.not_paid_yet') : app.i18n.error(error));
    }
    history.replaceState(null, '', `${location.pathname}${location.search}#/plan`);
  } else if (query.get('checkout') === 'cancelled') {
    app.notify(t('plan.cancelled_checkout'), 'info');
  }
  status ??= await app.api.post('/api/check-subscription-status');

  const checkout = (plan) => actionButton(app, t(`plan.subscribe_${plan}`), async () => {
    const session = await app.api.post('/api/create-checkout-session', { plan });
    location.assign(session.url);
  }, { id: `subscribe-${plan}` });

  const limits = status.limits ?? {};
  const usage = status.usage ?? {};
  replace(view,
    h('h1', {}, t('plan.title')),
    h('section', { class: 'card', id: 'plan-status' },
      h('h2', {}, t('plan.current', { plan: t(`plan.name_${status.plan}`) })),
      status.status ? h('p', {}, t('plan.status', { status: status.status })) : null,
      status.current_period_end ? h('p', {}, t(status.cancel_at_period_end ? 'plan.ends' : 'plan.renews',
        { date: app.i18n.formatTime(status.current_period_end) })) : null,
      h('ul', {},
        limits.speech_minutes_per_day !== undefined ? h('li', {}, t('plan.speech_limit', { used: Math.round((usage.speech_seconds ?? 0) / 60), limit: limits.speech_minutes_per_day })) : null,
        limits.translated_chars_per_day !== undefined ? h('li', {}, t('plan.translation_limit', { used: usage.translated_chars ?? 0, limit: limits.translated_chars_per_day })) : null,
        limits.max_room_members !== undefined ? h('li', {}, t('plan.room_limit', { limit: limits.max_room_members })) : null,
        h('li', {}, limits.cloud_engines ? t('plan.cloud_yes') : t('plan.cloud_no')))),
    status.is_subscribed
      ? h('section', { class: 'card' }, h('div', { class: 'row' },
        status.cancel_at_period_end ? null : actionButton(app, t('plan.cancel'), async () => {
          await app.api.post('/api/cancel-subscription');
          app.render();
        }, { class: 'danger', id: 'cancel-subscription' }),
        actionButton(app, t('plan.portal'), async () => {
          const { url } = await app.api.post('/api/billing-portal');
          location.assign(url);
        }, { class: 'secondary', id: 'billing-portal' })))
      : h('section', { class: 'card' }, h('h2', {}, t('plan.upgrade')), h('p', {}, t('plan.upgrade_text')),
        app.session.user?.is_guest ? h('p', {}, t('plan.guests')) : h('div', { class: 'row' }, checkout('monthly'), checkout('yearly'))));
  app.focusHeading(view);
}
