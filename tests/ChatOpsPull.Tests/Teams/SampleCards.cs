using ChatOpsPull.Chat.Cards;

namespace ChatOpsPull.Tests.Teams;

/// <summary>
/// Hand-written cards of every kind the bot shows (the lead's builder produces the same model): an incident with
/// evidence and every button style, one waiting for approval, an approved one, a resolved one, a digest, a status
/// list, and a storm card far too big for Teams.
/// </summary>
public static class SampleCards
{
    public const string IncidentKey = "incident:inc-4f2a9c";

    public static Card Incident(int pods = 3, string key = IncidentKey) => new(
        key,
        "shop/api cannot pull its image: tag not found",
        CardTone.Bad,
        "shop/api: registry.example.com/shop/api:1.4.3 not found (3 pods)",
        [
            new CardFact("Cluster", "prod-eu"),
            new CardFact("Namespace", "shop"),
            new CardFact("Workload", "Deployment/api"),
            new CardFact("Image", "registry.example.com/shop/api:1.4.3"),
            new CardFact("Cause", "image or tag not found (confidence high)"),
            new CardFact("Pods", pods.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ],
        [
            CardSection.Markdown(null, "The registry says *MANIFEST_UNKNOWN* for tag `1.4.3`. Nearest existing tags: `1.4.2`, `1.4.1`."),
            CardSection.List("Evidence",
            [
                new CardLine("DNS registry.example.com → 10.0.4.12 (3 ms)", LineMark.Passed),
                new CardLine("TLS handshake, certificate valid for registry.example.com (41 ms)", LineMark.Passed),
                new CardLine("GET /v2/shop/api/manifests/1.4.3 → 404 MANIFEST_UNKNOWN (58 ms)", LineMark.Failed),
                new CardLine("Tags listed: 1.4.2, 1.4.1, 1.4.0 (62 ms)", LineMark.Info),
                new CardLine("Pull secret check skipped: anonymous pull allowed", LineMark.Skipped),
            ]),
            CardSection.List("Pods", Enumerable.Range(1, pods).Select(i => new CardLine($"api-7d9c5b-{i:x4} ImagePullBackOff")).ToList()),
            CardSection.Code("Runtime message", "Failed to pull image \"registry.example.com/shop/api:1.4.3\": rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example.com/shop/api:1.4.3\": failed to resolve reference: registry.example.com/shop/api:1.4.3: not found"),
        ],
        [
            new CardAction("Set tag 1.4.2", new CardActionPayload(CardVerb.Request, "inc-4f2a9c", "set_tag:container=api,tag=1.4.2"), ActionStyle.Primary,
                new CardConfirm("Change the image of Deployment/api?", "Sets container *api* to `registry.example.com/shop/api:1.4.2` and waits for the rollout.")),
            new CardAction("Approve", new CardActionPayload(CardVerb.Approve, "apr-7c1d2e"), ActionStyle.Primary),
            new CardAction("Deny", new CardActionPayload(CardVerb.Deny, "apr-7c1d2e"), ActionStyle.Danger),
            new CardAction("Diagnose again", new CardActionPayload(CardVerb.Rediagnose, "inc-4f2a9c")),
            new CardAction("Snooze 1h", new CardActionPayload(CardVerb.Snooze, "inc-4f2a9c", "1h")),
        ])
    {
        Footer = "Updated 09:14 UTC · checked from the bot's network",
    };

    public static Card Approved(string key, string by) => new(
        key,
        "shop/api: fix approved, rollout running",
        CardTone.Warning,
        $"Approved by {by}: set tag 1.4.2 on shop/api",
        [new CardFact("Approved by", by), new CardFact("Job", "#12 running")],
        [CardSection.List("Progress", [new CardLine("Image set to 1.4.2", LineMark.Passed), new CardLine("Waiting for 3 pods to be Ready", LineMark.Info)])],
        [new CardAction("Diagnose again", new CardActionPayload(CardVerb.Rediagnose, "inc-4f2a9c"))]);

    public static Card Resolved() => new(
        "incident:inc-9b8a7c",
        "payments/worker pulls again",
        CardTone.Good,
        "payments/worker: resolved after credentials refresh",
        [new CardFact("Resolved", "10:02 UTC"), new CardFact("Time to resolve", "14 min")],
        [CardSection.Markdown("What happened", "Credentials for *ghcr.io* had expired; the pull secret was refreshed by job #9.")],
        []);

    public static Card Digest() => new(
        "digest:ops:2026-11-25",
        "Daily digest · prod-eu",
        CardTone.Neutral,
        "prod-eu: 4 incidents opened, 3 resolved",
        [new CardFact("Opened", "4"), new CardFact("Resolved", "3"), new CardFact("Median time to resolve", "11 min")],
        [
            CardSection.List("Still open", [new CardLine("shop/api · tag not found · 2 h", LineMark.Failed)]),
            CardSection.List("Floating tags", [new CardLine("batch/report uses :latest", LineMark.Info), new CardLine("web/front uses :stable", LineMark.Info)], hiddenCount: 12),
            CardSection.Markdown("Caching hint", "`registry.example.com/ml/model:3.1` (1.8 GB) was pulled 41 times; consider a pull-through cache."),
        ],
        []);

    public static Card StatusList() => new(
        "status:prod-eu",
        "2 open incidents",
        CardTone.Warning,
        "2 open incidents in prod-eu",
        [],
        [CardSection.List(null, [new CardLine("inc-4f2a9c shop/api · tag not found", LineMark.Failed), new CardLine("inc-1a2b3c batch/report · rate limited", LineMark.Failed)])],
        []);

    /// <summary>An alert storm: 5,000 pods and a 60 KB runtime message — far over the Teams limit before cutting.</summary>
    public static Card Storm() => Incident(pods: 5000, key: "incident:inc-5707e1") with
    {
        Sections =
        [
            .. Incident(pods: 5000).Sections.Take(3),
            CardSection.Code("Runtime message", string.Concat(Enumerable.Repeat("failed to pull and unpack image: unexpected EOF; ", 1200))),
        ],
    };

    public static IEnumerable<object[]> AllKinds() =>
    [
        ["incident", Incident()],
        ["approved", Approved(IncidentKey, "Ada Approver")],
        ["resolved", Resolved()],
        ["digest", Digest()],
        ["status", StatusList()],
        ["storm", Storm()],
        ["observe", Observed()],
    ];

    /// <summary>An incident card as the observe install profile shows it, from the real builder: each fix as its kubectl commands.</summary>
    public static Card Observed()
    {
        var now = new DateTimeOffset(2026, 11, 25, 9, 14, 0, TimeSpan.Zero);
        Core.Remediation.RemediationPlan Plan(Core.Remediation.RemediationKind kind, string title, params (string Key, string Value)[] parameters) =>
            new(kind, "shop", "Deployment", "api", title, title, Core.Remediation.RemediationRisk.Medium, parameters.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));
        var plans = new[]
        {
            Plan(Core.Remediation.RemediationKind.SetImageTag, "Set tag to 1.4.2", ("container", "api"), ("image", "registry.example.com/shop/api:1.4.2")),
            Plan(Core.Remediation.RemediationKind.RollBack, "Roll back to revision 6", ("revision", "6")),
        };
        var diagnosis = new Core.Diagnoses.Diagnosis(
            Core.Failures.PullCause.ImageNotFound, 0.97, "Tag `1.4.3` does not exist in registry.example.com/shop/api; nearest existing tags: 1.4.2.",
            [new Core.Diagnoses.Evidence("manifest shop/api:1.4.3", Core.Diagnoses.EvidenceOutcome.Failed, "404 MANIFEST_UNKNOWN")], "not found", plans);
        var pods = new[] { "api-7d9c5b-0001", "api-7d9c5b-0002" };
        var incident = new Core.Incidents.Incident(
            "inc-4f2a9c",
            new Core.Incidents.IncidentKey("prod-eu", "shop", "deployment/api", Core.Failures.PullCause.ImageNotFound),
            "registry.example.com/shop/api:1.4.3",
            Core.Incidents.IncidentState.Diagnosed,
            now.AddMinutes(-5),
            now,
            pods.Select(p => new Core.Incidents.AffectedPod(p, "api", "ImagePullBackOff", "Back-off pulling image", now.AddMinutes(-5), now)).ToArray(),
            2)
        {
            Workload = new Core.Failures.WorkloadRef("Deployment", "api"),
            Diagnosis = diagnosis,
        };
        var commands = plans.ToDictionary(p => p.Key, p => Core.Remediation.KubectlCommands.For(p, pods, null, now), StringComparer.Ordinal);
        return IncidentCardBuilder.Build(new IncidentCardInput(incident, [], [], [], now, commands));
    }
}
