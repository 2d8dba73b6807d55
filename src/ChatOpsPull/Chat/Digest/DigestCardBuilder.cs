using System.Globalization;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Digest;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Digest;

namespace ChatOpsPull.Chat.Digest;

/// <summary>
/// Turns a <see cref="DigestReport"/> into the channel-neutral card. Each section is there only when it has something
/// to say; a digest with nothing at all is one line ("Nothing to report for prod-eu in the last 24 h: …").
/// </summary>
public static class DigestCardBuilder
{
    /// <summary>The card key: one message per schedule and period end ("digest:slack:C0123:20260325T0800Z").</summary>
    public static string CardKey(DigestReport report) =>
        $"{report.ScheduleId}:{report.To.UtcDateTime.ToString("yyyyMMdd'T'HHmm'Z'", CultureInfo.InvariantCulture)}";

    public static string NothingToReport(DigestReport report) =>
        $"Nothing to report for {report.Scope} in the last {report.Period.Describe()}: no pull failures, no waiting approvals.";

    public static Card Build(DigestReport report, int top, CardImage? chart = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        var key = CardKey(report);
        if (report.IsEmpty)
        {
            var line = NothingToReport(report);
            return new Card(key, line, CardTone.Good, line, [], [], []);
        }

        var incidents = report.Incidents;
        var title = $"Pull digest: {report.Scope}, last {report.Period.Describe()}";
        var facts = new List<CardFact>
        {
            new("Period", DigestText.Range(report.From, report.To, report.Zone)),
            new("Incidents", $"{incidents.Opened} opened · {incidents.Resolved} resolved · {incidents.StillOpen.Count} still open"),
        };
        if (report.WaitingApprovals.Count > 0)
        {
            facts.Add(new CardFact("Approvals waiting", report.WaitingApprovals.Count.ToString(CultureInfo.InvariantCulture)));
        }

        if (report.Pulls.Pulls > 0)
        {
            facts.Add(new CardFact("Pulls", DigestText.Count(report.Pulls.Pulls, "image pull", "image pulls")));
        }

        var sections = new List<CardSection>();
        if (!report.HasNews)
        {
            sections.Add(CardSection.Markdown(null, "All quiet: no pull failures, no waiting approvals."));
        }

        AddIncidents(sections, report, top);
        AddApprovals(sections, report, top);
        AddCredentials(sections, report, top);
        AddPrevention(sections, report, top);
        AddWorkloads(sections, report, top);
        AddPullTimes(sections, report, top);
        AddCaching(sections, report, top);
        AddDockerHub(sections, report);
        AddActions(sections, report);
        if (report.Cluster.Notes.Count > 0)
        {
            sections.Add(CardSection.List("Not checked", report.Cluster.Notes.Select(n => new CardLine(n, LineMark.Skipped)).ToList()));
        }

        var tone = incidents.StillOpen.Count > 0 || report.Cluster.Refusals.Count > 0 || report.Cluster.Credentials.Any(c => c.IsExpired(report.To))
            ? CardTone.Bad
            : report.HasNews ? CardTone.Warning : CardTone.Good;
        var fallback = $"{title}: {incidents.Opened} incidents opened, {incidents.Resolved} resolved, {incidents.StillOpen.Count} still open, {report.WaitingApprovals.Count} approvals waiting.";
        var footer = report.ClusterScanned
            ? $"Generated {DigestText.LocalTime(report.To, report.Zone)} · workloads read from {DigestText.Count(report.Cluster.Pods, "pod", "pods")} · pull times from kubelet Pulled events"
            : $"Generated {DigestText.LocalTime(report.To, report.Zone)} · pull times from kubelet Pulled events · workloads not checked (no connection to a cluster this digest covers)";
        return new Card(key, title, tone, fallback, facts, sections, []) { Footer = footer, Image = chart };
    }

    private static void AddIncidents(List<CardSection> sections, DigestReport report, int top)
    {
        var incidents = report.Incidents;
        if (incidents.IsQuiet)
        {
            return;
        }

        var text = $"*{incidents.Opened}* opened, *{incidents.Resolved}* resolved";
        if (incidents.Failed > 0)
        {
            text += $", *{incidents.Failed}* given up";
        }

        text += ".";
        if (incidents.MedianTimeToResolve is { } median && incidents.WorstResolved is { } worst)
        {
            text += $" Time to resolve: median {DigestText.Duration(median)}, worst {DigestText.Duration(incidents.WorstTimeToResolve!.Value)} (`{worst.Id}` {worst.Namespace}/{worst.Subject}).";
        }

        if (incidents.Causes.Count > 0)
        {
            text += "\nCauses: " + string.Join(" · ", incidents.Causes.Select(c => $"{c.Key.ToSnakeCase()} {c.Incidents}"));
        }

        sections.Add(CardSection.Markdown("Incidents", text));

        if (incidents.StillOpen.Count > 0)
        {
            var lines = incidents.StillOpen.Take(top)
                .Select(i => new CardLine($"`{i.Id}` {i.Cluster}/{i.Namespace}/{i.Subject}: {i.Cause.ToSnakeCase()}, {DigestText.Count(i.Pods, "pod", "pods")}, open for {DigestText.Duration(report.To - i.OpenedAt)}", LineMark.Failed))
                .ToList();
            sections.Add(CardSection.List("Still open", lines, incidents.StillOpen.Count - lines.Count));
        }

        if (incidents.TopImages.Count > 0)
        {
            var lines = incidents.TopImages
                .Select(c => new CardLine($"`{c.Key}`: {DigestText.Count(c.Incidents, "incident", "incidents")}, {DigestText.Count(c.Pods, "pod", "pods")}"))
                .ToList();
            sections.Add(CardSection.List("Top failing images", lines));
        }
    }

    private static void AddApprovals(List<CardSection> sections, DigestReport report, int top)
    {
        if (report.WaitingApprovals.Count == 0)
        {
            return;
        }

        var lines = report.WaitingApprovals.Take(top)
            .Select(a => new CardLine(
                $"`{a.Id}` {a.Plan.Title} ({a.Plan.Namespace}/{a.Plan.WorkloadName}): asked by {a.RequestedBy.Name} {DigestText.Duration(report.To - a.RequestedAt)} ago, {a.ApprovalCount}/{a.Required} approvals, expires in {DigestText.Duration(a.ExpiresAt - report.To)}",
                LineMark.Info))
            .ToList();
        sections.Add(CardSection.List("Approvals waiting", lines, report.WaitingApprovals.Count - lines.Count));
    }

    private static void AddCredentials(List<CardSection> sections, DigestReport report, int top)
    {
        var cluster = report.Cluster;
        if (cluster.Credentials.Count == 0 && cluster.Refusals.Count == 0)
        {
            return;
        }

        var lines = new List<CardLine>();
        foreach (var refusal in cluster.Refusals)
        {
            lines.Add(new CardLine($"{string.Join(", ", refusal.Secrets)} for `{refusal.Image}`: {refusal.Cause.ToSnakeCase()}: {refusal.Summary}", LineMark.Failed));
        }

        foreach (var credential in cluster.Credentials)
        {
            var when = credential.IsExpired(report.To)
                ? $"expired {DigestText.Duration(report.To - credential.ExpiresAt)} ago"
                : $"expires in {DigestText.Duration(credential.ExpiresAt - report.To)}";
            lines.Add(new CardLine(
                $"secret {credential.Secret} for {credential.Registry}: {credential.Kind} {when} ({DigestText.LocalTime(credential.ExpiresAt, report.Zone)})",
                credential.IsExpired(report.To) ? LineMark.Failed : LineMark.Info));
        }

        var shown = lines.Take(top * 2).ToList();
        sections.Add(CardSection.List("Pull secrets", shown, lines.Count - shown.Count));
    }

    /// <summary>Running workloads whose next pull fails (the sweep's open findings), and changes the admission check stopped or warned about.</summary>
    private static void AddPrevention(List<CardSection> sections, DigestReport report, int top)
    {
        var prevention = report.Prevention;
        if (prevention.WillFail.Count > 0)
        {
            var lines = prevention.WillFail.Take(top)
                .Select(f => new CardLine($"{f.Namespace}/{f.Workload} ({f.Container}): {f.Summary}", LineMark.Failed))
                .ToList();
            sections.Add(CardSection.List("Will fail on the next pull", lines, prevention.WillFail.Count - lines.Count));
        }

        if (prevention.Prevented.Count > 0)
        {
            var refused = prevention.Prevented.Count(f => f.Change?.Denied == true);
            var lines = prevention.Prevented.Take(top)
                .Select(f => new CardLine($"{(f.Change?.Denied == true ? "refused" : "warned")}: {f.Namespace}/{f.Workload} ({f.Container}) by {f.Change?.User ?? "(unknown)"}: {f.Summary}", f.Change?.Denied == true ? LineMark.Skipped : LineMark.Info))
                .ToList();
            sections.Add(CardSection.List(
                $"Stopped at admission ({refused} refused, {prevention.Prevented.Count - refused} warned)", lines, prevention.Prevented.Count - lines.Count));
        }
    }

    private static void AddWorkloads(List<CardSection> sections, DigestReport report, int top)
    {
        var workloads = report.Cluster.Workloads;
        if (workloads.FloatingTags.Count > 0)
        {
            var lines = workloads.FloatingTags.Take(top)
                .Select(f => new CardLine($"{f.Use.Namespace}/{f.Use.Workload} container {f.Use.Container}: `{f.Use.Image}`"))
                .ToList();
            sections.Add(CardSection.List("On :latest or no tag (pin a version or a digest)", lines, workloads.FloatingTags.Count - lines.Count));
        }

        if (workloads.AlwaysOnImmutable.Count > 0)
        {
            var lines = workloads.AlwaysOnImmutable.Take(top)
                .Select(f => new CardLine($"{f.Use.Namespace}/{f.Use.Workload} container {f.Use.Container}: `{f.Use.Image}`"))
                .ToList();
            sections.Add(CardSection.List("imagePullPolicy Always on an immutable tag (IfNotPresent saves a registry round trip per start)", lines, workloads.AlwaysOnImmutable.Count - lines.Count));
        }
    }

    private static void AddPullTimes(List<CardSection> sections, DigestReport report, int top)
    {
        var pulls = report.Pulls;
        if (pulls.TimedPulls == 0)
        {
            return;
        }

        var lines = new List<CardLine>();
        foreach (var registry in pulls.Registries.Where(r => r.TimedPulls > 0).Take(top))
        {
            lines.Add(new CardLine($"*{registry.Key}*: {DigestText.Count(registry.Pulls, "pull", "pulls")}, p50 {DigestText.Millis(registry.P50Ms!.Value)}, p95 {DigestText.Millis(registry.P95Ms!.Value)}"));
        }

        foreach (var image in pulls.SlowestImages.Take(Math.Min(top, 3)))
        {
            var size = image.SizeBytes is { } bytes ? $", {DigestText.Bytes(bytes)}" : string.Empty;
            lines.Add(new CardLine($"slow: `{image.Key}`: p95 {DigestText.Millis(image.P95Ms!.Value)} over {DigestText.Count(image.TimedPulls, "pull", "pulls")}{size}"));
        }

        foreach (var image in pulls.MostPulledImages.Take(Math.Min(top, 3)))
        {
            lines.Add(new CardLine($"most pulled: `{image.Key}`: {DigestText.Count(image.Pulls, "pull", "pulls")}"));
        }

        sections.Add(CardSection.List("Pull times (p50 / p95)", lines));
    }

    private static void AddCaching(List<CardSection> sections, DigestReport report, int top)
    {
        var hints = report.Pulls.CachingHints;
        if (hints.Count == 0)
        {
            return;
        }

        var lines = hints.Take(top)
            .Select(h => new CardLine(
                $"`{h.Image}` ({DigestText.Bytes(h.SizeBytes)}) was pulled {h.Pulls} times{(h.Nodes > 0 ? $" on {DigestText.Count(h.Nodes, "node", "nodes")}" : string.Empty)}, {DigestText.Bytes(h.BytesPulled)} in all: {CachingHint.Advice}.",
                LineMark.Info))
            .ToList();
        sections.Add(CardSection.List("Caching", lines, hints.Count - lines.Count));
    }

    private static void AddDockerHub(List<CardSection> sections, DigestReport report)
    {
        if (report.Cluster.DockerHub is not { } hub)
        {
            return;
        }

        var window = hub.Window > TimeSpan.Zero ? $" per {DigestText.Duration(hub.Window)}" : string.Empty;
        var low = hub.Remaining * 5 < hub.Limit;
        var text = $"{hub.Remaining} of {hub.Limit} pulls left{window}{(hub.Source is null ? string.Empty : $" for {hub.Source}")}.";
        if (low)
        {
            text += " Under 20% left: authenticate pulls or use a mirror before Docker Hub answers 429.";
        }

        sections.Add(CardSection.Markdown("Docker Hub rate limit", text));
    }

    private static void AddActions(List<CardSection> sections, DigestReport report)
    {
        if (report.Actions.Count == 0)
        {
            return;
        }

        var parts = report.Actions.Select(a =>
        {
            var text = $"{a.Action.Replace('.', ' ').Replace('_', ' ')} {a.Done}";
            if (a.Refused > 0)
            {
                text += $" (+{a.Refused} refused)";
            }

            if (a.Failed > 0)
            {
                text += $" (+{a.Failed} failed)";
            }

            return text;
        });
        sections.Add(CardSection.Markdown("Actions (audit log)", string.Join(" · ", parts)));
    }
}
