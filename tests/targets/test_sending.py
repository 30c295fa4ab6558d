"""Messages to targets sent for real (aiosmtpd) by the relay and the pipeline, on a clock the
test moves: the drip window and hourly cap, what targets receive, bounces, cancel, pause,
moderation, test mode."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date, datetime, timedelta
from email.header import decode_header, make_header
from email.utils import getaddresses, parseaddr
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from orgs.contacts.erasure import erase_everywhere
from orgs.scoping import system_scope
from orgs.targets import service
from tests.targets.harness import Drip, Received

BRUSSELS = ZoneInfo("Europe/Brussels")
MONDAY = date(2030, 3, 4)


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=BRUSSELS)


def subject_of(mail: Received) -> str:
    return str(make_header(decode_header(mail["Subject"])))


async def _window(drip: Drip, cap: int = 4) -> None:
    """09:00-10:00 Brussels time, Monday and Tuesday, ``cap`` messages per target and hour."""
    await drip.configure(
        starts_on=MONDAY,
        ends_on=MONDAY + timedelta(days=1),
        daily_start=9 * 60,
        daily_end=10 * 60,
        timezone="Europe/Brussels",
        hourly_cap=cap,
    )


class TestDrip:
    async def test_messages_go_in_the_window_spread_under_the_cap(self, drip: Drip) -> None:
        # given six people write to the mayor at 08:00, before the window opens
        await _window(drip, cap=4)
        for _ in range(6):
            await drip.sign(["mayor"])
        # when the clock runs until 08:59: nothing
        drip.run(local(MONDAY, 8, 59))
        assert drip.inbox.received == []
        # then at 09:00 the first message, one every 15 minutes, four in the hour
        drip.run(local(MONDAY, 9, 0))
        assert len(drip.inbox.received) == 1
        drip.run(local(MONDAY, 9, 14))
        assert len(drip.inbox.received) == 1
        drip.run(local(MONDAY, 23, 59))
        assert len(drip.inbox.received) == 4
        # and the rest on Tuesday morning, inside the window
        drip.run(local(MONDAY + timedelta(days=1), 12, 0))
        sent = drip.sent_times("mayor")
        assert [t.astimezone(BRUSSELS).strftime("%a %H:%M") for t in sent] == [
            "Mon 09:00",
            "Mon 09:15",
            "Mon 09:30",
            "Mon 09:45",
            "Tue 09:00",
            "Tue 09:15",
        ]
        assert len(drip.inbox.received) == 6

    async def test_a_message_planned_after_the_window_ends_fails_visibly(self, drip: Drip) -> None:
        await _window(drip, cap=1)
        for _ in range(3):  # Monday 09:00, Tuesday 09:00, then the window is over
            await drip.sign(["mayor"])
        assert drip.statuses() == {"pending": 2, "failed": 1}
        [failed] = drip.sql("SELECT last_error FROM delivery WHERE status = 'failed'")
        assert failed["last_error"] == "after the end of the sending window"

    async def test_a_burst_of_1000_signatures_holds_the_cap_and_the_window(
        self, drip: Drip
    ) -> None:
        # given 1,000 people write to the board at once (8 at a time); cap 30 an hour,
        # 09:00-15:00 for a week
        await drip.configure(
            starts_on=MONDAY,
            ends_on=MONDAY + timedelta(days=6),
            daily_start=9 * 60,
            daily_end=15 * 60,
            timezone="Europe/Brussels",
            hourly_cap=30,
        )
        gate = asyncio.Semaphore(8)

        async def one(n: int) -> None:
            async with gate:
                await drip.sign(["board"], f"burst{n}@example.net")

        await asyncio.gather(*(one(n) for n in range(1000)))
        # then the plan: 1,000 distinct slots, two minutes apart, all inside the window
        slots = sorted(
            r["next_attempt_at"]
            for r in drip.sql("SELECT next_attempt_at FROM delivery WHERE event = 'target_mail'")
        )
        assert len(slots) == 1000
        assert min(b - a for a, b in itertools.pairwise(slots)) >= timedelta(minutes=2)
        assert all(9 <= s.astimezone(BRUSSELS).hour < 15 for s in slots)
        assert slots[-1].astimezone(BRUSSELS).date() == MONDAY + timedelta(days=5)
        # when the workers send on Monday, are down from 11:00 to 13:00, then catch up
        second = timedelta(seconds=1)
        drip.run(local(MONDAY, 11, 0) - second, step=timedelta(minutes=10))
        drip.clock.at = local(MONDAY, 13, 0)  # the outage: two hours of messages are due
        drip.run(local(MONDAY + timedelta(days=1), 10, 0) - second, step=timedelta(minutes=10))
        # then never more than 30 in any hour, only inside the window, no burst after the
        # outage: the overdue messages took the next free slots instead
        sent = drip.sent_times("board")
        assert len(sent) == 150  # 09:00-11:00, 13:00-15:00, Tuesday 09:00-10:00
        for i, at in enumerate(sent):
            in_hour = [t for t in sent[i:] if t - at < timedelta(hours=1)]
            assert len(in_hour) <= 30, f"{len(in_hour)} messages in the hour from {at}"
            assert 9 <= at.astimezone(BRUSSELS).hour < 15, at
        assert len(drip.inbox.received) == 150
        assert drip.statuses() == {"delivered": 150, "pending": 850}
        # each message went to both addresses of the board, once
        assert {tuple(sorted(r.recipients)) for r in drip.inbox.received} == {
            ("board@targets.example.org", "chair@targets.example.org")
        }


class TestWhatTargetsReceive:
    async def test_the_hubs_address_the_signers_name_a_stable_message_id(self, drip: Drip) -> None:
        # given
        await drip.sign(["mayor", "board"], "ada@example.net")
        # when
        drip.run(drip.clock.at + timedelta(minutes=1))
        # then one message per target
        [to_mayor] = drip.inbox.to("mayor@targets.example.org")
        [to_board] = drip.inbox.to("board@targets.example.org")
        name, address = parseaddr(to_mayor["From"])
        assert (name, address) == ("Ada Lovelace", "noreply@hub.test")  # SPF/DMARC-safe
        assert to_mayor["Reply-To"] is None  # she did not agree to share her address
        assert getaddresses([to_mayor["To"]]) == [("Mayor Ann", "mayor@targets.example.org")]
        assert subject_of(to_mayor) == "Save the river"
        assert to_mayor.body.startswith("Dear Mayor Ann,\n\nSave it.\n\nAda Lovelace\n")
        assert "This message was sent by Ada Lovelace through the campaign" in to_mayor.body
        assert to_mayor["Message-ID"] != to_board["Message-ID"]
        assert to_mayor["Message-ID"].startswith("<mtt.")
        assert to_mayor["Message-ID"].endswith("@hub.test>")
        assert to_mayor.message.get_content_type() == "text/plain"
        assert "ada@example.net" not in str(to_mayor.message)

    async def test_reply_to_only_when_the_campaign_asks_and_the_signer_agrees(
        self, drip: Drip
    ) -> None:
        await drip.configure(ask_reply_to=True)
        await drip.sign(["mayor"], "yes@example.net", customFields={"replyTo": True})
        await drip.sign(["mayor"], "no@example.net", customFields={"replyTo": False})
        await drip.sign(["board"], "ignored@example.net")
        drip.run(drip.clock.at + timedelta(hours=1))
        replies = sorted(str(r["Reply-To"]) for r in drip.inbox.received)
        assert replies == ["Ada Lovelace <yes@example.net>", "None", "None"]

    async def test_a_signers_tick_alone_never_shares_the_address(self, drip: Drip) -> None:
        # the campaign did not ask: a forged replyTo in customFields changes nothing
        await drip.sign(["mayor"], "forged@example.net", customFields={"replyTo": True})
        drip.run(drip.clock.at + timedelta(minutes=1))
        [mail] = drip.inbox.received
        assert mail["Reply-To"] is None
        assert "forged@example.net" not in str(mail.message)

    async def test_procas_target_tags_are_filled_per_target(self, drip: Drip) -> None:
        # given a body as Proca's widget writes it with its salutation option
        drip.sql_exec(
            'UPDATE target SET fields = \'{"salutation": "Dear Madam Mayor"}\', '
            "area = 'Riverside' WHERE external_id = 'mayor'"
        )
        await drip.sign(
            ["mayor", "minister"],
            mtt={
                "subject": "For {{target.name}} of {{ target.area }}",
                "body": "{{target.fields.salutation}}\n{{target.fields.nothing}}Save it. "
                "{{contact.email}}{signer}",
            },
        )
        # when
        drip.run(drip.clock.at + timedelta(minutes=1))
        # then each target reads its own values; unknown tags are empty, never another's data
        [mayor] = drip.inbox.to("mayor@targets.example.org")
        [minister] = drip.inbox.to("minister@targets.example.org")
        assert subject_of(mayor) == "For Mayor Ann of Riverside"
        assert subject_of(minister) == "For Minister Bob of"
        assert mayor.body.startswith("Dear Madam Mayor\nSave it. Ada Lovelace\n")
        assert minister.body.startswith("\nSave it. Ada Lovelace\n")
        assert "example.net" not in mayor.body

    async def test_markup_and_hostile_names_stay_inert(self, drip: Drip) -> None:
        # given a signer whose name and message carry markup and an address
        html = '<a href="https://evil.example">click</a><script>x()</script>'
        async with drip.engine.begin() as conn:
            from orgs.intake.service import IntakeOptions, add_action_contact

            await add_action_contact(
                conn,
                IntakeOptions(keyring=drip.keyring, clock=drip.clock),
                drip.page_id,
                action={
                    "actionType": "mail2target",
                    "mtt": {"subject": "<b>Hi</b>", "body": html, "targets": ["mayor"]},
                },
                contact={"firstName": 'Eve" <boss@targets.example.org>', "email": "e@example.net"},
                privacy={"optIn": True},
            )
        # when
        drip.run(drip.clock.at + timedelta(minutes=1))
        # then the From address is still the hub's, the text is plain text as typed
        [mail] = drip.inbox.received
        assert parseaddr(mail["From"])[1] == "noreply@hub.test"
        assert mail.message.get_content_type() == "text/plain"
        assert html in mail.body
        assert mail.recipients == ["mayor@targets.example.org"]


class TestBounces:
    async def test_a_5xx_marks_the_address_the_others_still_get_it(self, drip: Drip) -> None:
        # given the chair's server refuses the address for good
        drip.inbox.refuse["chair@targets.example.org"] = "550 5.1.1 no such user"
        await drip.sign(["board"])
        # when
        drip.run(drip.clock.at + timedelta(minutes=1))
        # then
        [mail] = drip.inbox.received
        assert mail.recipients == ["board@targets.example.org"]
        emails = drip.sql("SELECT email, status, last_error FROM target_email ORDER BY email")
        chair = next(e for e in emails if e["email"] == "chair@targets.example.org")
        assert chair["status"] == "bounced"
        assert chair["last_error"].startswith("550")
        assert drip.statuses() == {"delivered": 1}
        # and the next message goes to the board's active address only
        await drip.sign(["board"])
        drip.run(drip.clock.at + timedelta(hours=1))
        assert drip.inbox.received[-1].recipients == ["board@targets.example.org"]

    async def test_a_target_whose_only_address_bounces_fails_the_message(self, drip: Drip) -> None:
        drip.inbox.refuse["mayor@targets.example.org"] = "550 mailbox unavailable"
        await drip.sign(["mayor"])
        drip.run(drip.clock.at + timedelta(minutes=1))
        assert drip.inbox.received == []
        assert drip.statuses() == {"failed": 1}
        [mayor] = drip.sql("SELECT status FROM target_email WHERE email LIKE 'mayor@%'")
        assert mayor["status"] == "bounced"

    async def test_a_4xx_counts_a_soft_bounce_and_retries(self, drip: Drip) -> None:
        drip.inbox.refuse["mayor@targets.example.org"] = "451 try again later"
        await drip.sign(["mayor"])
        drip.drain()
        [mayor] = drip.sql(
            "SELECT status, soft_bounces FROM target_email WHERE email LIKE 'mayor@%'"
        )
        assert mayor == {"status": "active", "soft_bounces": 1}
        [delivery] = drip.sql("SELECT status, attempts FROM delivery")
        assert delivery == {"status": "pending", "attempts": 1}
        # when the server accepts it again, the retry goes through and the count restarts
        del drip.inbox.refuse["mayor@targets.example.org"]
        drip.run(drip.clock.at + timedelta(hours=1), step=timedelta(minutes=5))
        assert len(drip.inbox.received) == 1
        [mayor] = drip.sql("SELECT soft_bounces FROM target_email WHERE email LIKE 'mayor@%'")
        assert mayor == {"soft_bounces": 0}

    async def test_five_soft_bounces_in_a_row_mark_the_address(self, drip: Drip) -> None:
        drip.inbox.refuse["mayor@targets.example.org"] = "452 mailbox full"
        await drip.sign(["mayor"])
        drip.run(drip.clock.at + timedelta(hours=3), step=timedelta(minutes=5))
        [mayor] = drip.sql(
            "SELECT status, soft_bounces FROM target_email WHERE email LIKE 'mayor@%'"
        )
        assert mayor == {"status": "bounced", "soft_bounces": 5}
        [delivery] = drip.sql("SELECT status, last_error FROM delivery")
        assert delivery == {
            "status": "failed",
            "last_error": "the target has no address that gets mail",
        }


class TestManaging:
    async def test_cancel_the_queued_messages_of_a_target(self, drip: Drip) -> None:
        await _window(drip)
        for _ in range(3):
            await drip.sign(["mayor", "minister"])
        async with AsyncSession(drip.engine) as session:
            cancelled = await service.cancel_messages(
                session, system_scope(drip.lead_id), drip.campaign_id, "mayor"
            )
            await session.commit()
        assert cancelled == 3
        drip.run(local(MONDAY, 12, 0))
        assert drip.inbox.to("mayor@targets.example.org") == []
        assert len(drip.inbox.to("minister@targets.example.org")) == 3

    async def test_pause_holds_everything_resume_spreads_it_again(self, drip: Drip) -> None:
        # given three messages due from 09:00, and the campaign paused at 08:30
        await _window(drip)
        for _ in range(3):
            await drip.sign(["mayor"])
        scope = system_scope(drip.lead_id)
        async with AsyncSession(drip.engine) as session:
            await service.pause(session, scope, drip.campaign_id)
            await session.commit()
        await drip.sign(["mayor"])  # written while paused: held too
        assert drip.statuses() == {"held": 4}
        # when the window passes while paused, nothing is sent
        drip.run(local(MONDAY, 11, 0))
        assert drip.inbox.received == []
        # then resuming on Tuesday at 09:10 spreads the four from then
        drip.clock.at = local(MONDAY + timedelta(days=1), 9, 10)
        async with AsyncSession(drip.engine) as session:
            await service.resume(session, scope, drip.campaign_id, clock=drip.clock)
            await session.commit()
        drip.run(local(MONDAY + timedelta(days=1), 10, 0))
        assert [t.astimezone(BRUSSELS).strftime("%H:%M") for t in drip.sent_times("mayor")] == [
            "09:10",
            "09:25",
            "09:40",
            "09:55",
        ]

    async def test_moderation_approve_sends_reject_forgets(self, drip: Drip) -> None:
        await drip.configure(moderation="all")
        await drip.sign(["mayor"], "good@example.net")
        await drip.sign(["mayor"], "bad@example.net")
        drip.run(drip.clock.at + timedelta(hours=1))
        assert drip.inbox.received == []
        good, bad = (r["id"] for r in drip.sql("SELECT id FROM target_message ORDER BY id"))
        scope = system_scope(drip.lead_id)
        async with AsyncSession(drip.engine) as session:
            approved = await service.moderate(
                session, scope, drip.campaign_id, [good], True, clock=drip.clock
            )
            rejected = await service.moderate(session, scope, drip.campaign_id, [bad], False)
            await session.commit()
        assert (approved, rejected) == (1, 1)
        drip.run(drip.clock.at + timedelta(hours=1))
        assert len(drip.inbox.received) == 1
        [kept, forgotten] = drip.sql(
            "SELECT payload IS NULL AS gone FROM target_message ORDER BY id"
        )
        assert (kept["gone"], forgotten["gone"]) == (False, True)
        assert drip.statuses() == {"delivered": 1, "cancelled": 1}


class TestErasure:
    async def test_the_persons_erasure_cancels_and_forgets_their_messages(self, drip: Drip) -> None:
        # given Ada's messages wait for the window, Bob's too
        await _window(drip)
        await drip.sign(["mayor", "board"], "ada@example.net")
        await drip.sign(["mayor"], "bob@example.net")
        [ada] = drip.sql(
            "SELECT s.id FROM supporter s JOIN target_message m ON m.supporter_id = s.id "
            "GROUP BY s.id HAVING count(*) = 2"
        )
        # when Ada has every copy erased (her own verified request)
        async with drip.engine.begin() as conn:
            await erase_everywhere(conn, ada["id"])
        drip.run(local(MONDAY, 12, 0), step=timedelta(minutes=30))
        # then only Bob's message went; Ada's words are gone
        assert [r.recipients for r in drip.inbox.received] == [["mayor@targets.example.org"]]
        left = drip.sql(
            "SELECT m.supporter_id = :ada AS hers, m.payload IS NULL AS forgotten, d.status "
            "FROM target_message m JOIN delivery d ON d.id = m.delivery_id ORDER BY m.id",
            ada=ada["id"],
        )
        assert left == [
            {"hers": True, "forgotten": True, "status": "cancelled"},
            {"hers": True, "forgotten": True, "status": "cancelled"},
            {"hers": False, "forgotten": False, "status": "delivered"},
        ]


class TestTestMode:
    async def test_one_copy_to_the_signer_at_once_never_to_targets(self, drip: Drip) -> None:
        # given the window is closed (it opens at 09:00)
        await _window(drip)
        await drip.sign(["mayor", "minister"], "ada@example.net", testing=True)
        # when
        drip.drain()
        # then the signer gets one copy now; no target gets anything
        [copy] = drip.inbox.received
        assert copy.recipients == ["ada@example.net"]
        assert subject_of(copy) == "[TEST] Save the river"
        assert "The message would go to: Mayor Ann, Minister Bob." in copy.body
        drip.run(local(MONDAY, 12, 0))
        assert len(drip.inbox.received) == 1
        # and the test message is purged after a day
        drip.clock.at = drip.clock.at + timedelta(days=1, hours=1)
        assert drip.relay.sweep() == 1
        assert drip.sql("SELECT id FROM target_message") == []
        assert drip.sql("SELECT id FROM delivery WHERE event = 'target_mail'") == []
