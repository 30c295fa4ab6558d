"""intake write as server-side functions: one round trip per signature or follow-up

``intake_write_row(jsonb)`` writes one submission (supporter upsert, action, contacts,
consents, contactRef, outbox rows) and returns its counter increments;
``intake_count(jsonb)`` applies increments in (page, metric) order; ``intake_write(jsonb)``
is both for one submission (orgs/intake/repository.py explains the design).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Everything Python decided arrives in ``p`` (orgs/intake/repository.py ``write_params``):
# the page, org and campaign; ``fingerprint`` (base64) for a signature, whose supporter is
# upserted here, or ``supporter_id`` for a follow-up by a ref's holder (its row already
# locked), or neither for an anonymous follow-up (``anonymous_ref``); the contacts and
# consents the visibility rule grants (orgs/scoping.py); the outbox's choices (``mails``,
# ``thank_you``). Double opt-in (``waiting``, confirm, doi:asked) follows the supporter's
# confirmation as read here.
_ROW = r"""
CREATE FUNCTION intake_write_row(p jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  v_page bigint := (p->>'page_id')::bigint;
  v_org bigint := (p->>'org_id')::bigint;
  v_campaign bigint := (p->>'campaign_id')::bigint;
  v_sid bigint := (p->>'supporter_id')::bigint;
  v_anon text := p->>'anonymous_ref';
  v_type text := p->>'action_type';
  v_fields jsonb := COALESCE(p->'custom_fields', '{}'::jsonb);
  v_testing boolean := (p->>'testing')::boolean;
  v_flagged text := p->>'flagged';
  v_key text := p->>'idempotency_key';
  v_window integer := (p->>'window')::integer;
  v_country text := p->>'country';
  v_shard text := p->>'shard';
  v_refcode text := p->>'referral_code';
  v_count_supporter boolean := (p->>'count_supporter')::boolean;
  v_recipients bigint[] := ARRAY(SELECT jsonb_array_elements_text(p->'recipients'))::bigint[];
  v_link_refs text[] := ARRAY(SELECT jsonb_array_elements_text(p->'link_refs'));
  v_counted boolean;
  v_conf text;
  v_waiting boolean := false;
  v_confirm boolean := false;
  v_doi boolean := false;
  v_recent bigint;
  v_rank bigint;
  v_crank bigint;
  v_before bigint;
  v_ref_id bigint;
  v_ref_sid bigint;
  v_ref_action bigint;
  v_action bigint;
  v_dupe integer;
  v_orgs bigint[] := '{}';
  v_mail text;
  v_counters jsonb := '[]';
BEGIN
  v_counted := NOT v_testing AND v_flagged IS NULL;
  -- the page and its campaign are live now, whatever a process's cache holds
  PERFORM 1 FROM action_page ap JOIN campaign c ON c.id = ap.campaign_id
   WHERE ap.id = v_page AND ap.org_id = v_org AND ap.campaign_id = v_campaign
     AND ap.status = 'live' AND c.status = 'live'
     AND (c.starts_at IS NULL OR c.starts_at <= now())
     AND (c.ends_at IS NULL OR c.ends_at > now());
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', true);
  END IF;

  IF p ? 'fingerprint' THEN
    -- the row lock lasts until commit: the same person's concurrent submissions queue here,
    -- and each following statement (a new snapshot) sees the earlier ones
    INSERT INTO supporter (campaign_id, fingerprint, first_action_page_id, confirmation,
                           country, testing)
    VALUES (v_campaign, decode(p->>'fingerprint', 'base64'), v_page, 'none', v_country,
            v_testing)
    ON CONFLICT (campaign_id, fingerprint) DO UPDATE
       SET country = COALESCE(EXCLUDED.country, supporter.country),
           testing = supporter.testing AND EXCLUDED.testing,
           erased_at = NULL
    RETURNING id, confirmation INTO v_sid, v_conf;
  ELSIF v_sid IS NOT NULL THEN
    SELECT confirmation INTO v_conf FROM supporter WHERE id = v_sid;
  END IF;

  IF v_sid IS NOT NULL THEN
    v_waiting := (p->>'double_opt_in')::boolean AND v_conf <> 'confirmed';
    v_confirm := (p->>'ask')::boolean AND v_waiting AND v_flagged IS NULL;
    v_doi := v_confirm AND NOT v_testing AND v_conf IN ('none', 'rejected');
    SELECT
      count(*) FILTER (WHERE a.action_page_id = v_page AND a.action_type = v_type
                         AND a.testing = v_testing AND v_window > 0
                         AND a.custom_fields = v_fields
                         AND a.created_at > now() - make_interval(secs => v_window)),
      count(*) FILTER (WHERE a.action_page_id = v_page AND a.action_type = v_type
                         AND a.testing = v_testing AND a.flagged IS NULL),
      count(*) FILTER (WHERE a.action_type = v_type AND a.testing = v_testing
                         AND a.flagged IS NULL),
      count(*) FILTER (WHERE NOT a.testing AND a.flagged IS NULL)
    INTO v_recent, v_rank, v_crank, v_before
    FROM action a WHERE a.supporter_id = v_sid;
  ELSE
    SELECT
      count(*) FILTER (WHERE a.action_page_id = v_page AND a.action_type = v_type
                         AND a.testing = v_testing AND v_window > 0
                         AND a.custom_fields = v_fields
                         AND a.created_at > now() - make_interval(secs => v_window)),
      count(*) FILTER (WHERE a.action_page_id = v_page AND a.action_type = v_type
                         AND a.testing = v_testing AND a.flagged IS NULL),
      count(*) FILTER (WHERE a.action_type = v_type AND a.testing = v_testing
                         AND a.flagged IS NULL),
      1
    INTO v_recent, v_rank, v_crank, v_before
    FROM action a WHERE a.ref = v_anon AND a.campaign_id = v_campaign
      AND a.supporter_id IS NULL;
  END IF;

  IF v_refcode IS NOT NULL THEN
    SELECT id, supporter_id, action_id INTO v_ref_id, v_ref_sid, v_ref_action
    FROM contact_ref
    WHERE referral_code = v_refcode AND campaign_id = v_campaign
      AND supporter_id IS DISTINCT FROM v_sid
    LIMIT 1;
  END IF;

  IF v_recent = 0 AND NOT (v_key IS NOT NULL AND EXISTS (
       SELECT 1 FROM action WHERE action_page_id = v_page AND idempotency_key = v_key)) THEN
    INSERT INTO action (org_id, campaign_id, action_page_id, supporter_id, action_type,
                        custom_fields, source, medium, tracking_campaign, content, location,
                        referrer_host, referred_by_supporter_id, referred_by_ref_id, ref,
                        dupe_rank, testing, flagged, idempotency_key, country, new_supporter,
                        referral_generation)
    VALUES (v_org, v_campaign, v_page, v_sid, v_type, v_fields, p->>'source', p->>'medium',
            p->>'tracking_campaign', p->>'content', p->>'location', p->>'referrer_host',
            v_ref_sid, v_ref_id, v_anon, v_rank, v_testing, v_flagged, v_key, v_country,
            v_before = 0 AND v_count_supporter AND v_counted,
            CASE WHEN v_ref_id IS NOT NULL
                 THEN 1 + COALESCE((SELECT ra.referral_generation FROM action ra
                                    WHERE ra.id = v_ref_action), 0)
                 ELSE 0 END)
    ON CONFLICT (action_page_id, idempotency_key) WHERE idempotency_key IS NOT NULL
    DO NOTHING
    RETURNING id, dupe_rank INTO v_action, v_dupe;
  END IF;

  IF v_action IS NOT NULL THEN
    INSERT INTO contact (supporter_id, org_id, scope, payload, ref)
    SELECT v_sid, (c->>0)::bigint, c->>1, decode(c->>2, 'base64'), c->>3
    FROM jsonb_array_elements(p->'contacts') AS c
    ON CONFLICT (supporter_id, org_id) DO UPDATE
       SET payload = CASE WHEN contact.scope = 'full' AND EXCLUDED.scope = 'delivery'
                          THEN contact.payload ELSE EXCLUDED.payload END,
           scope = CASE WHEN contact.scope = 'full' THEN 'full' ELSE EXCLUDED.scope END,
           updated_at = now(),
           disabled_at = NULL;
    INSERT INTO consent (supporter_id, org_id, action_page_id, action_id, purpose, given,
                         wording_version, method)
    SELECT v_sid, (c->>0)::bigint, v_page, v_action, c->>1, (c->>2)::boolean,
           p->>'consent_version', p->>'consent_method'
    FROM jsonb_array_elements(p->'consents') AS c;
    IF v_confirm THEN
      UPDATE supporter SET confirmation = 'confirming'
      WHERE id = v_sid AND confirmation IN ('none', 'rejected');
    END IF;
    INSERT INTO stat_queue (action_id, campaign_id) VALUES (v_action, v_campaign);
  END IF;

  IF p->>'ref_hash' IS NOT NULL THEN
    INSERT INTO contact_ref (ref_hash, supporter_id, org_id, campaign_id, action_page_id,
                             action_id, referral_code)
    VALUES (decode(p->>'ref_hash', 'base64'), v_sid, v_org, v_campaign, v_page, v_action,
            p->>'new_referral_code')
    -- the same row written again (its batch committed, the answer was lost): already issued
    ON CONFLICT (ref_hash, org_id) DO NOTHING;
  END IF;

  IF cardinality(v_link_refs) > 0 THEN
    UPDATE action SET supporter_id = v_sid
    WHERE campaign_id = v_campaign AND org_id = v_org AND supporter_id IS NULL
      AND ref = ANY(v_link_refs);
  END IF;

  IF v_action IS NOT NULL AND v_sid IS NOT NULL THEN
    -- orgs told of the action: those it gave a copy, and recipients already holding one
    v_orgs := ARRAY(
      SELECT DISTINCT org_id FROM contact
      WHERE supporter_id = v_sid AND disabled_at IS NULL
        AND (org_id = ANY(v_recipients)
             OR org_id IN (SELECT (c->>0)::bigint FROM jsonb_array_elements(p->'contacts') c))
      ORDER BY org_id);
  END IF;

  -- the outbox (orgs/outbox/repository.py plan_deliveries / plan_mail: same rows and keys)
  IF v_action IS NOT NULL AND v_flagged IS NULL AND v_sid IS NOT NULL THEN
    INSERT INTO delivery (org_id, connector_id, event, action_id, supporter_id, status,
                          attempts, idempotency_key)
    SELECT c.org_id, c.id, 'action_created', v_action, v_sid,
           CASE WHEN v_waiting THEN 'waiting' ELSE 'pending' END, 0,
           'action_created:a' || v_action || ':' || c.id
    FROM connector c
    WHERE c.org_id = ANY(v_orgs) AND c.enabled AND c.kind <> 'smtp'
    ON CONFLICT (idempotency_key) DO NOTHING;
    IF (p->>'mails')::boolean THEN
      IF v_waiting THEN
        v_mail := 'confirmation_mail';
      ELSIF (p->>'thank_you')::boolean THEN
        v_mail := 'thank_you_mail';
      END IF;
      IF v_mail IS NOT NULL THEN
        INSERT INTO delivery (org_id, connector_id, event, action_id, supporter_id, status,
                              attempts, idempotency_key)
        VALUES (v_org, NULL, v_mail, v_action, v_sid, 'pending', 0,
                v_mail || ':a' || v_action || ':mail')
        ON CONFLICT (idempotency_key) DO NOTHING;
      END IF;
    END IF;
  END IF;

  IF v_action IS NOT NULL AND v_counted THEN
    v_counters := jsonb_build_array(
      CASE WHEN v_dupe = 0 THEN 'actions:' || v_type || '|' || v_shard END,
      CASE WHEN v_crank = 0 THEN 'cactions:' || v_type || '|' || v_shard END,
      CASE WHEN v_before = 0 AND v_count_supporter THEN 'supporters|' || v_shard END,
      CASE WHEN v_before = 0 AND v_count_supporter AND v_country IS NOT NULL
           THEN 'country:' || v_country || '|' || v_shard END,
      CASE WHEN v_doi THEN 'doi:asked|' || v_shard END);
    v_counters := jsonb_path_query_array(v_counters, '$[*] ? (@ != null)');
  END IF;

  RETURN jsonb_build_object(
    'action_id', v_action, 'dupe_rank', COALESCE(v_dupe, 0), 'supporter_id', v_sid,
    'confirmation', v_conf, 'waiting', v_waiting, 'delivery_orgs', to_jsonb(v_orgs),
    'counters', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                   'page', v_page, 'campaign', v_campaign, 'metric', m)), '[]')
                 FROM jsonb_array_elements_text(v_counters) AS m));
END
$fn$
"""

# Counter increments summed, applied in (page, metric) order: concurrent transactions take
# the hot counter rows' locks in one order (no deadlock between batches).
_COUNT = r"""
CREATE FUNCTION intake_count(counters jsonb) RETURNS void
LANGUAGE sql VOLATILE AS $fn$
  INSERT INTO stat_counter (action_page_id, metric, campaign_id, value)
  SELECT c.page, c.metric, c.campaign, count(*)
  FROM jsonb_to_recordset(counters) AS c(page bigint, metric text, campaign bigint)
  GROUP BY c.page, c.metric, c.campaign
  ORDER BY c.page, c.metric
  ON CONFLICT (action_page_id, metric) DO UPDATE SET value = stat_counter.value + EXCLUDED.value
$fn$
"""

_WRITE = r"""
CREATE FUNCTION intake_write(p jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  r jsonb;
BEGIN
  r := intake_write_row(p);
  IF r ? 'counters' THEN
    PERFORM intake_count(r->'counters');
  END IF;
  RETURN r - 'counters';
END
$fn$
"""


def upgrade() -> None:
    # sent as is: the bodies hold colons that are not bind parameters
    for body in (_ROW, _COUNT, _WRITE):
        op.get_bind().exec_driver_sql(body)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS intake_write(jsonb)")
    op.execute("DROP FUNCTION IF EXISTS intake_count(jsonb)")
    op.execute("DROP FUNCTION IF EXISTS intake_write_row(jsonb)")
