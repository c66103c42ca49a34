-- 0007_billing: payments (issue 7). Stripe webhook events seen (de-duplication), per-user daily
-- usage counters for the plan limits, and the rest of a user's subscription state.

-- One row per Stripe event id received. Stripe delivers at least once and retries, so an id seen
-- before and processed (processed_at set) is not processed again. `created` is the event's own
-- `created` field as Stripe sends it (Unix SECONDS); received_at and processed_at are Parley's
-- clock (Unix milliseconds, as every other time in the schema). outcome says what processing did
-- (for support: "applied", "stale", "ignored: ...").
CREATE TABLE stripe_events (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  created BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  processed_at BIGINT,
  outcome TEXT,
  CHECK (processed_at IS NULL OR outcome IS NOT NULL)
);

-- What each user used per UTC day and metered feature. A consumption is one conditional
-- `UPDATE ... SET amount = amount + $n WHERE ... AND amount + $n <= $limit`, so the limit holds
-- under concurrency; the CHECK is the backstop for refunds.
CREATE TABLE usage_daily (
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- YYYY-MM-DD in UTC: the counters reset at 00:00 UTC.
  day TEXT NOT NULL,
  feature TEXT NOT NULL CHECK (feature IN ('speech_seconds', 'translated_chars')),
  amount BIGINT NOT NULL DEFAULT 0 CHECK (amount >= 0),
  PRIMARY KEY (user_id, day, feature)
);
-- Retention removes old days.
CREATE INDEX usage_daily_day_idx ON usage_daily (day);

-- The subscription columns of users (plan, subscription_status, stripe_customer_id,
-- stripe_subscription_id, subscription_current_period_end) are in 0001_initial. These complete
-- them: whether the subscription ends at the current period's end, and the Stripe-side time of
-- the state held (Unix milliseconds of the event's `created`), so that an event older than the
-- state we hold never overwrites it (Stripe does not deliver in order).
ALTER TABLE users ADD COLUMN subscription_cancel_at_period_end INTEGER NOT NULL DEFAULT 0
  CHECK (subscription_cancel_at_period_end IN (0, 1));
ALTER TABLE users ADD COLUMN subscription_updated_at BIGINT;
