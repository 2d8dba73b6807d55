using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ChatOpsPull.Core.Prevention;
using ChatOpsPull.Kubernetes;
using ChatOpsPull.Observability;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Prevention;

/// <summary>One admission request as the check needs it (from an admission.k8s.io/v1 AdmissionRequest).</summary>
/// <param name="Group">request.kind.group ("" for core, "apps", "batch").</param>
/// <param name="SubResource">request.subResource ("scale", "status"…), or null for the object itself.</param>
/// <param name="User">request.userInfo.username.</param>
public sealed record AdmissionSubject(
    string Group,
    string Kind,
    string? SubResource,
    string Namespace,
    string? Name,
    string Operation,
    bool DryRun,
    string User,
    JsonNode? NewObject,
    JsonNode? OldObject);

/// <summary>How a review ended, for metrics and logs.</summary>
public enum AdmissionOutcome
{
    /// <summary>Not something the check looks at (kind, operation, subresource, namespace, controller-made object).</summary>
    Skipped,

    /// <summary>Every changed image can be pulled (or none changed).</summary>
    Allowed,

    /// <summary>Admitted with warnings about images that cannot be pulled.</summary>
    Warned,

    /// <summary>Refused: the namespace (or Admission:DenyNamespaces) asks for it and an image cannot be pulled.</summary>
    Denied,

    /// <summary>Admitted: some image could not be verified (in time, or from here); nothing found against it.</summary>
    Unverified,
}

/// <summary>The answer to one review.</summary>
/// <param name="DenyMessage">Set when <see cref="Allowed"/> is false: names the image, the cause and the fix.</param>
/// <param name="Warnings">Within the documented limits (<see cref="AdmissionWarnings"/>).</param>
/// <param name="AuditAnnotations">What the API server writes to its audit log for this request (not shown to the user).</param>
public sealed record AdmissionVerdict(
    bool Allowed,
    AdmissionOutcome Outcome,
    string? DenyMessage,
    IReadOnlyList<string> Warnings,
    IReadOnlyDictionary<string, string> AuditAnnotations,
    IReadOnlyList<ImageVerdict> Images)
{
    public static AdmissionVerdict Skip { get; } = new(true, AdmissionOutcome.Skipped, null, [], new Dictionary<string, string>(StringComparer.Ordinal), []);
}

/// <summary>
/// The admission check: before a Pod, or a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob pod template,
/// is admitted, each image that is new or changed is checked with the pod's own credentials (<see cref="ImageVerifier"/>).
/// An image that cannot be pulled is a warning (kubectl and CI print it) or, where the namespace is labelled
/// <c>chatopspull.io/admission=deny</c> or listed in Admission:DenyNamespaces, a refusal naming the image, the cause and the
/// fix. It never holds the cluster up: everything runs within Admission:Budget and what is not done by then is admitted
/// with "could not verify in time"; the bot's own namespace and kube-system are never checked; objects a controller made
/// (a Deployment's ReplicaSets and pods) are left alone, their template was checked where a person wrote it. Dry runs are
/// answered the same way and change nothing; other reviews of workload changes that warn or deny are recorded afterwards
/// as "prevented" findings (<see cref="FindingRecorder"/>), and a later clean change of the same container resolves them.
/// </summary>
public sealed partial class AdmissionReviewer(
    ImageVerifier verifier,
    ClusterLookups lookups,
    PreventionPlans plans,
    FindingRecorder recorder,
    KubernetesConnection connection,
    IOptionsMonitor<AdmissionOptions> options,
    IOptions<BotOptions> bot,
    BotMetrics metrics,
    TimeProvider time,
    ILogger<AdmissionReviewer> log)
{
    public const string SystemNamespace = "kube-system";
    private const string DefaultOwnNamespace = "chatopspull";

    public async Task<AdmissionVerdict> ReviewAsync(AdmissionSubject subject, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var verdict = await DecideAsync(subject, cancellationToken).ConfigureAwait(false);
        metrics.AdmissionReviewed(Name(verdict.Outcome), Stopwatch.GetElapsedTime(started));
        if (verdict.Outcome is AdmissionOutcome.Warned or AdmissionOutcome.Denied)
        {
            LogProblem(log, verdict.Outcome, subject.Namespace, subject.Kind, subject.Name, subject.User, subject.DryRun);
        }

        return verdict;
    }

    private async Task<AdmissionVerdict> DecideAsync(AdmissionSubject subject, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        if (subject.Operation is not ("CREATE" or "UPDATE") || !string.IsNullOrEmpty(subject.SubResource)
            || !PodTemplate.IsChecked(subject.Group, subject.Kind) || IsSkippedNamespace(subject.Namespace, settings)
            || !PodTemplate.TryRead(subject.Group, subject.Kind, subject.NewObject, out var template) || template.ControllerOwned)
        {
            return AdmissionVerdict.Skip;
        }

        var changed = Changed(subject, template);
        if (changed.Count == 0)
        {
            return new AdmissionVerdict(true, AdmissionOutcome.Allowed, null, [], Annotations(0, []), []);
        }

        using var budget = new CancellationTokenSource(settings.Budget, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        AdmissionMode? mode = settings.Mode;
        try
        {
            mode = await ModeAsync(subject.Namespace, settings, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The namespace could not be read in time: the configured mode stands, and the checks below say "not in time".
        }

        if (mode is null)
        {
            return AdmissionVerdict.Skip;
        }

        IReadOnlyList<ImageVerdict> verdicts;
        try
        {
            var secrets = await verifier.PullSecretsAsync(subject.Namespace, template, linked.Token).ConfigureAwait(false);
            verdicts = await Task.WhenAll(changed.Select(c => VerifyAsync(subject.Namespace, template, c, secrets, settings.Budget, budget, linked.Token))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            verdicts = changed.Select(c => ImageVerifier.NotInTime(c, settings.Budget)).ToList();
        }

        return Answer(subject, template, mode.Value, verdicts);
    }

    private async Task<ImageVerdict> VerifyAsync(string @namespace, PodTemplate template, ContainerImage container, EffectivePullSecrets secrets, TimeSpan limit, CancellationTokenSource budget, CancellationToken cancellationToken)
    {
        try
        {
            return await verifier.VerifyAsync(@namespace, template, container, secrets, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            return ImageVerifier.NotInTime(container, limit);
        }
    }

    private AdmissionVerdict Answer(AdmissionSubject subject, PodTemplate template, AdmissionMode mode, IReadOnlyList<ImageVerdict> verdicts)
    {
        var failing = verdicts.Where(v => v.Kind == ImageVerdictKind.WillFail).ToList();
        var unverified = verdicts.Where(v => v.Kind == ImageVerdictKind.Unverified).ToList();

        // A node's credential provider is not the user's doing: it goes to the audit log, not to the terminal.
        var fromHere = unverified.Where(v => v.FromHere).ToList();
        var warnings = failing.Select(v => v.Summary).Concat(unverified.Except(fromHere).Select(v => v.Summary)).ToList();
        var annotations = Annotations(verdicts.Count, fromHere);
        var denied = mode == AdmissionMode.Deny && failing.Count > 0;
        var outcome = denied ? AdmissionOutcome.Denied
            : failing.Count > 0 ? AdmissionOutcome.Warned
            : unverified.Count > fromHere.Count ? AdmissionOutcome.Unverified
            : AdmissionOutcome.Allowed;
        string? message = null;
        if (denied)
        {
            message = DenyMessage(subject, failing);
            warnings = unverified.Except(fromHere).Select(v => v.Summary).ToList();
        }

        if (!subject.DryRun && subject.Kind != "Pod" && subject.Name is { Length: > 0 } name)
        {
            Record(subject, template, name, verdicts, denied);
        }

        return new AdmissionVerdict(!denied, outcome, message, AdmissionWarnings.Fit(warnings), annotations, verdicts);
    }

    /// <summary>After the answer: a "prevented" finding per failing container, and resolution for containers now fine.</summary>
    private void Record(AdmissionSubject subject, PodTemplate template, string name, IReadOnlyList<ImageVerdict> verdicts, bool denied)
    {
        var previous = subject.OldObject is { } old && PodTemplate.TryRead(subject.Group, subject.Kind, old, out var before) ? before.Containers : [];
        foreach (var verdict in verdicts)
        {
            var observation = new FindingObservation(
                FindingSource.Admission,
                FindingKinds.From(verdict.Cause) ?? FindingKind.ImageMissing,
                bot.Value.Cluster,
                subject.Namespace,
                subject.Kind,
                name,
                verdict.Container.Container,
                verdict.Container.Image,
                verdict.Summary,
                verdict.Fix,
                verdict.Evidence,
                // Refused changes left the workload as it was: a button would change something nobody asked for.
                denied ? [] : plans.For(subject.Namespace, subject.Kind, name, verdict, FirstSecret(verdict)),
                new AdmissionChange(subject.User, subject.Operation, previous.FirstOrDefault(c => c.Container == verdict.Container.Container)?.Image, denied));
            switch (verdict.Kind)
            {
                case ImageVerdictKind.WillFail:
                    recorder.Enqueue(new FindingWork(observation, null));
                    break;
                case ImageVerdictKind.Pullable when !denied:
                    recorder.Enqueue(new FindingWork(null, observation.Key));
                    break;
                case ImageVerdictKind.Pullable or ImageVerdictKind.Unverified:
                    break;
                default:
                    throw new InvalidOperationException($"unknown verdict {verdict.Kind}");
            }
        }
    }

    /// <summary>The containers to check: all on CREATE; on UPDATE those whose image is new or changed.</summary>
    private static List<ContainerImage> Changed(AdmissionSubject subject, PodTemplate template)
    {
        var before = subject.Operation == "UPDATE" && PodTemplate.TryRead(subject.Group, subject.Kind, subject.OldObject, out var old)
            ? old.Containers.Select(c => (c.Container, c.Image)).ToHashSet()
            : [];
        return template.Containers.Where(c => !before.Contains((c.Container, c.Image))).DistinctBy(c => (c.Container, c.Image)).ToList();
    }

    /// <summary>Warn or Deny for the namespace (its label first, then Admission:DenyNamespaces, then Admission:Mode); null: skip it.</summary>
    private async Task<AdmissionMode?> ModeAsync(string @namespace, AdmissionOptions settings, CancellationToken cancellationToken)
    {
        var labels = await lookups.NamespaceLabelsAsync(@namespace, cancellationToken).ConfigureAwait(false);
        if (labels.Value is { } found && found.TryGetValue(AdmissionOptions.NamespaceLabel, out var value))
        {
            switch (value)
            {
                case "deny":
                    return AdmissionMode.Deny;
                case "warn":
                    return AdmissionMode.Warn;
                case "skip":
                    return null;
            }
        }

        return settings.DenyNamespaces.Exists(g => Glob.IsMatch(g, @namespace)) ? AdmissionMode.Deny : settings.Mode;
    }

    private bool IsSkippedNamespace(string @namespace, AdmissionOptions settings) =>
        @namespace.Length == 0
        || @namespace == SystemNamespace
        || @namespace == (connection.OwnNamespace ?? DefaultOwnNamespace)
        || settings.SkipNamespaces.Exists(g => Glob.IsMatch(g, @namespace));

    private static string DenyMessage(AdmissionSubject subject, List<ImageVerdict> failing)
    {
        var first = failing[0];
        var more = failing.Count > 1 ? $" ({failing.Count - 1} more image(s) cannot be pulled either: {string.Join("; ", failing.Skip(1).Take(3).Select(f => f.Summary))})" : string.Empty;
        return $"chatopspull: container {first.Container.Container}: {first.Summary}. Fix: {first.Fix ?? "use an image the registry serves to this pod's credentials"}.{more} "
            + $"Namespace {subject.Namespace} refuses images that cannot be pulled ({AdmissionOptions.NamespaceLabel}=deny or Admission:DenyNamespaces).";
    }

    private static Dictionary<string, string> Annotations(int checkedImages, List<ImageVerdict> fromHere)
    {
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["images-checked"] = checkedImages.ToString(CultureInfo.InvariantCulture),
        };
        if (fromHere.Count > 0)
        {
            var text = string.Join("; ", fromHere.Select(v => v.Summary));
            annotations["unverified"] = text.Length <= 1000 ? text : text[..999] + "…";
        }

        return annotations;
    }

    private static string Name(AdmissionOutcome outcome) => outcome switch
    {
        AdmissionOutcome.Skipped => "skipped",
        AdmissionOutcome.Allowed => "allowed",
        AdmissionOutcome.Warned => "warned",
        AdmissionOutcome.Denied => "denied",
        AdmissionOutcome.Unverified => "unverified",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "unknown admission outcome"),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Admission {Outcome}: {Kind} {Namespace}/{Name} by {User} (dry run: {DryRun})")]
    private static partial void LogProblem(ILogger logger, AdmissionOutcome outcome, string @namespace, string kind, string? name, string user, bool dryRun);

    private static string? FirstSecret(ImageVerdict verdict) => verdict.Check?.Resolution.Matches is { Count: > 0 } matches ? matches[0].SecretName : null;
}
