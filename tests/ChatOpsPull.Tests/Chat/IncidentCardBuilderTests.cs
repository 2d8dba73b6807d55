using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Core.Remediation;

namespace ChatOpsPull.Tests.Chat;

public sealed class IncidentCardBuilderTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static readonly RemediationPlan SetTag = new(
        RemediationKind.SetImageTag, "shop", "Deployment", "api", "Set tag to 1.4.2", "Sets the api container's image to registry.example.com/shop/api:1.4.2.", RemediationRisk.Medium,
        new Dictionary<string, string> { ["container"] = "api", ["image"] = "registry.example.com/shop/api:1.4.2" });

    private static readonly RemediationPlan Rollback = new(
        RemediationKind.RollBack, "shop", "Deployment", "api", "Roll back to revision 6", "Returns deployment/api to revision 6.", RemediationRisk.High, new Dictionary<string, string> { ["revision"] = "6" });

    private static Incident Incident(int pods, IncidentState state = IncidentState.Diagnosed, Core.Diagnoses.Diagnosis? diagnosis = null) => new(
        "inc-4f2a9c",
        new IncidentKey("prod-eu", "shop", "deployment/api", PullCause.ImageNotFound),
        "registry.example.com/shop/api:1.4.3",
        state,
        Now.AddMinutes(-5),
        Now,
        Enumerable.Range(0, pods).Select(i => new AffectedPod($"api-7d9c-{i:00000}", "api", "ImagePullBackOff", "Back-off pulling image", Now.AddMinutes(-5), Now)).ToArray(),
        3)
    {
        Workload = new WorkloadRef("Deployment", "api"),
        Diagnosis = diagnosis,
    };

    private static Core.Diagnoses.Diagnosis NotFound() => new(
        PullCause.ImageNotFound,
        0.97,
        "Tag 1.4.3 does not exist in registry.example.com/shop/api; 1.4.2 is the nearest existing tag.",
        [new Evidence("registry manifest", EvidenceOutcome.Failed, "MANIFEST_UNKNOWN for 1.4.3", TimeSpan.FromMilliseconds(12))],
        "failed to resolve reference \"registry.example.com/shop/api:1.4.3\": not found",
        [SetTag, Rollback]);

    [Fact]
    public void An_incident_from_an_alert_without_owner_labels_shows_the_workload_read_from_the_pod_name_as_inferred()
    {
        var failure = new PullFailure(FailureSource.Alertmanager, "prod-eu", "shop", "web-7d9c5b6f4-x2x4p", "web", ContainerKind.Regular, "nginx:1.99", "ImagePullBackOff", string.Empty, Now);
        var incident = new Incident("inc-5e1f0a", IncidentGrouping.KeyOf(failure, PullCause.ImageNotFound), failure.Image, IncidentState.Open, Now, Now,
            [new AffectedPod(failure.Pod, "web", "ImagePullBackOff", string.Empty, Now, Now)], 1);

        var card = IncidentCardBuilder.Build(new IncidentCardInput(incident, [], [], [], Now));

        Assert.Equal("Image or tag not found: shop/deployment/web", card.Title);
        Assert.Equal("deployment/web (inferred from the pod name web-7d9c5b6f4-x2x4p; the alert named no owner)", card.Facts.Single(f => f.Label == "Workload").Value);
        var known = IncidentCardBuilder.Build(new IncidentCardInput(incident with { Workload = new WorkloadRef("Deployment", "web") }, [], [], [], Now));
        Assert.Equal("deployment/web", known.Facts.Single(f => f.Label == "Workload").Value);
    }

    [Fact]
    public void Diagnosed_incident_shows_cause_evidence_pods_and_fix_buttons()
    {
        var card = IncidentCardBuilder.Build(new IncidentCardInput(Incident(3, diagnosis: NotFound()), [], [], [], Now));

        Assert.Equal("incident:inc-4f2a9c", card.Key);
        Assert.Contains("Image or tag not found", card.Title, StringComparison.Ordinal);
        Assert.Contains(card.Facts, f => f.Label == "Cause" && f.Value == "image_not_found (high confidence)");
        Assert.Contains(card.Sections, s => s.Heading == "Evidence" && s.Lines.Single().Mark == LineMark.Failed && s.Lines[0].Text.Contains("12 ms", StringComparison.Ordinal));
        Assert.Contains(card.Sections, s => s.Style == SectionStyle.Code && s.Text.Contains("not found", StringComparison.Ordinal));

        var request = card.Actions[0];
        Assert.Equal(CardVerb.Request, request.Payload.Verb);
        Assert.Equal(SetTag.Key, request.Payload.Argument);
        Assert.Null(request.Confirm);
        Assert.NotNull(card.Actions.Single(a => a.Label == "Roll back to revision 6").Confirm);
        Assert.Contains(card.Actions, a => a.Payload.Verb == CardVerb.Snooze && a.Payload.Argument == "1h");
        Assert.All(card.Actions, a => Assert.True(CardActionPayload.TryParse(a.Payload.ToString(), out _)));
    }

    [Fact]
    public void When_the_bot_only_observes_each_fix_is_its_commands_and_no_button_asks_approves_or_denies()
    {
        var pending = new ApprovalRequest("apr-7c1d2e", "inc-4f2a9c", SetTag, new Actor("slack", "U1", "mallory", []), Now, Now.AddHours(1), ApprovalStatus.Pending, 1, [], 0);
        var commands = new Dictionary<string, IReadOnlyList<string>>
        {
            [SetTag.Key] = ["kubectl -n shop set image deployment/api api=registry.example.com/shop/api:1.4.2"],
            [Rollback.Key] = ["kubectl -n shop rollout undo deployment/api --to-revision=6"],
        };

        var card = IncidentCardBuilder.Build(new IncidentCardInput(Incident(2, IncidentState.AwaitingApproval, NotFound()), [pending], [], [], Now, commands));

        var fixes = card.Sections.Where(s => s.Heading?.StartsWith("Fix by hand: ", StringComparison.Ordinal) == true).ToList();
        Assert.Equal(["Fix by hand: Set tag to 1.4.2", "Fix by hand: Roll back to revision 6"], fixes.Select(s => s.Heading));
        Assert.All(fixes, s => Assert.Equal(SectionStyle.Code, s.Style));
        Assert.Equal("kubectl -n shop rollout undo deployment/api --to-revision=6", fixes[1].Text);
        Assert.Contains(card.Sections, s => s.Text == FixOffer.ObserveSentence("prod-eu"));
        Assert.DoesNotContain(card.Actions, a => a.Payload.Verb is CardVerb.Request or CardVerb.Approve or CardVerb.Deny);
        Assert.Contains(card.Actions, a => a.Payload.Verb == CardVerb.Rediagnose);
    }

    [Fact]
    public void Many_pods_are_listed_up_to_ten_and_the_rest_counted()
    {
        var card = IncidentCardBuilder.Build(new IncidentCardInput(Incident(47), [], [], [], Now));
        var pods = card.Sections.Single(s => s.Heading == "Affected pods");
        Assert.Equal(10, pods.Lines.Count);
        Assert.Equal(37, pods.HiddenCount);
        Assert.Contains(card.Facts, f => f.Label == "Pods" && f.Value == "47 failing");
    }

    [Fact]
    public void Pending_request_turns_its_button_into_approve_and_deny()
    {
        var request = new ApprovalRequest("apr-7c1d2e", "inc-4f2a9c", SetTag, new Actor("slack", "U1", "mallory", []), Now, Now.AddHours(1), ApprovalStatus.Pending, 2, [], 0);
        var card = IncidentCardBuilder.Build(new IncidentCardInput(Incident(1, IncidentState.AwaitingApproval, NotFound()), [request], [], [], Now));

        Assert.Contains(card.Actions, a => a.Payload == new CardActionPayload(CardVerb.Approve, "apr-7c1d2e") && a.Confirm is not null);
        Assert.Contains(card.Actions, a => a.Payload == new CardActionPayload(CardVerb.Deny, "apr-7c1d2e"));
        Assert.DoesNotContain(card.Actions, a => a.Payload.Argument == SetTag.Key);
        Assert.Contains(card.Sections.Single(s => s.Heading == "Remediation").Lines, l => l.Text.Contains("0/2", StringComparison.Ordinal));
    }

    [Fact]
    public void Resolved_incident_has_no_buttons_and_says_so()
    {
        var incident = Incident(2, IncidentState.Resolved, NotFound()) with { ResolvedAt = Now };
        var run = new RemediationRun("apr-7c1d2e", incident.Id, SetTag, RunStatus.Succeeded, "2/2 pods Ready in 41 s", Now.AddMinutes(-2), Now);
        var card = IncidentCardBuilder.Build(new IncidentCardInput(incident, [], [run], [], Now));

        Assert.Empty(card.Actions);
        Assert.Equal(CardTone.Good, card.Tone);
        Assert.Contains(card.Sections.Single(s => s.Heading == "Remediation").Lines, l => l.Mark == LineMark.Passed && l.Text.Contains("pods are Ready", StringComparison.Ordinal));
    }

    [Fact]
    public void Very_long_runtime_message_is_cut_and_says_where()
    {
        var incident = Incident(1) with { Pods = [new AffectedPod("p", "c", "ErrImagePull", new string('x', 5000), Now, Now)] };
        var card = IncidentCardBuilder.Build(new IncidentCardInput(incident, [], [], [], Now));
        var code = card.Sections.Single(s => s.Style == SectionStyle.Code);
        Assert.True(code.Text.Length < 1600);
        Assert.EndsWith("(cut at 1500 of 5000 characters)", code.Text, StringComparison.Ordinal);
    }
}
