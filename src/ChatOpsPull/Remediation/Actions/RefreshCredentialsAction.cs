using System.Text;
using System.Text.Json.Nodes;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Remediation.Actions;

/// <summary>
/// Writes (or updates) a <c>kubernetes.io/dockerconfigjson</c> pull secret in the namespace from the configured credential
/// source for the registry (Remediation:CredentialSources: a secret the operator keeps in the bot's namespace). The
/// source's entry is checked against the registry BEFORE anything is written — credentials the registry rejects are
/// never written — and the secret as written is resolved the way kubelet resolves it and checked again AFTER. Then the
/// secret is attached to the ServiceAccount when the plan says so, and the stuck pods are deleted so they pull again.
/// Only the source's entry for that registry is copied; other entries of the target secret are kept. No secret
/// content ever reaches a log line, the card or the audit log. A secret the bot creates carries
/// <see cref="ManagedByLabel"/>=<see cref="ManagedByValue"/>; it updates only secrets that carry it (the admission policy
/// in manifests/policy refuses anything else), so an operator opts a secret of their own in by labelling it.
/// </summary>
public sealed class RefreshCredentialsAction(
    ClusterAccess cluster,
    WorkloadPullCheck secrets,
    PullSecretResolver resolver,
    RegistryChecker checker,
    ServiceAccountSecrets accounts,
    StuckPods stuckPods,
    IOptionsMonitor<RemediationOptions> options) : IRemediationAction
{
    public const string SourceAnnotation = "chatopspull.io/credentials-from";

    public const string ManagedByLabel = "app.kubernetes.io/managed-by";

    public const string ManagedByValue = "chatopspull";

    public async Task<string> DryRunAsync(ActionInput input, CancellationToken cancellationToken)
    {
        var source = await ReadSourceAsync(input, cancellationToken).ConfigureAwait(false);
        var lines = (await WriteAsync(input, source, dryRun: true, cancellationToken).ConfigureAwait(false)).ToList();
        if (input.OptionalParameter("serviceAccount") is { } account)
        {
            lines.AddRange(await accounts.DryRunAttachAsync(input.Plan.Namespace, account, input.Parameter("secret"), cancellationToken).ConfigureAwait(false));
        }

        if (input.Plan.WorkloadKind != "Pod" && input.Plan.WorkloadName.Length > 0)
        {
            lines.AddRange(await stuckPods.DryRunAsync(input, cancellationToken).ConfigureAwait(false));
        }

        return ObjectDiff.Summarize(lines, max: 5);
    }

    public async Task<string> ApplyAsync(ActionInput input, StepLog steps, CancellationToken cancellationToken)
    {
        var target = input.Parameter("secret");
        var parts = new List<string>();
        var source = await ReadSourceAsync(input, cancellationToken).ConfigureAwait(false);

        await steps.RunAsync("1-verify-source", null, async (_, ct) =>
        {
            var check = await checker.CheckAsync(source.Image, source.Credentials, null, ct).ConfigureAwait(false);
            Require(check, $"the credentials in {source.Describe}", "nothing was written");
            return $"{source.Image.Domain} accepts the credentials in {source.Describe}";
        }, cancellationToken).ConfigureAwait(false);

        parts.Add(await steps.RunAsync("2-write-secret", null, async (_, ct) =>
            string.Join("; ", await WriteAsync(input, source, dryRun: false, ct).ConfigureAwait(false)), cancellationToken).ConfigureAwait(false));

        await steps.RunAsync("3-verify-written", null, async (_, ct) =>
        {
            var written = await secrets.ReadSecretAsync(input.Plan.Namespace, target, ct).ConfigureAwait(false)
                ?? throw new RemediationRefusedException($"secret {input.Plan.Namespace}/{target} was written but cannot be read back");
            var resolution = resolver.Resolve(source.Image, [written]);
            var match = (resolution.Matches.Count > 0 ? resolution.Matches[0] : null)
                ?? throw new RemediationRefusedException($"secret {input.Plan.Namespace}/{target} was written but kubelet would not use it for {source.Image.Domain}: {resolution.Summary}");
            var check = await checker.CheckAsync(source.Image, match.Credentials, null, ct).ConfigureAwait(false);
            Require(check, $"the credentials now in {input.Plan.Namespace}/{target}", "the secret was written; check the credential source");
            return $"{source.Image.Domain} accepts the credentials now in {input.Plan.Namespace}/{target}";
        }, cancellationToken).ConfigureAwait(false);
        parts.Add("verified against the registry before and after");

        if (input.OptionalParameter("serviceAccount") is { } account)
        {
            parts.Add(await steps.RunAsync("4-attach", null, (_, ct) => accounts.AttachAsync(input.Plan.Namespace, account, target, ct), cancellationToken).ConfigureAwait(false));
        }

        if (input.Plan.WorkloadKind != "Pod" && input.Plan.WorkloadName.Length > 0)
        {
            parts.Add(await stuckPods.DeleteAsync(input, steps, "5-pods-", cancellationToken).ConfigureAwait(false));
            await steps.RecordTargetAsync(await StuckPods.TargetAfterDeleteAsync(input, steps, "5-pods-", cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await steps.RecordTargetAsync(RolloutTarget.Pods(input.Plan), cancellationToken).ConfigureAwait(false);
        }

        return string.Join("; ", parts);
    }

    private static void Require(RegistryCheck check, string what, string consequence)
    {
        switch (check.Cause)
        {
            case PullCause.AuthFailed or PullCause.AccessDenied:
                throw new RemediationRefusedException($"{check.Image.Domain} rejects {what}: {check.Summary}; {consequence}");
            case PullCause.Network or PullCause.Tls or PullCause.RegistryError:
                throw new RemediationRefusedException($"{what} could not be checked against {check.Image.Domain}: {check.Summary}; {consequence}");
            default:
                return; // pullable, or an answer that needs accepted credentials (not found, rate limited, platform)
        }
    }

    private async Task<Source> ReadSourceAsync(ActionInput input, CancellationToken cancellationToken)
    {
        var registry = input.Parameter("registry");
        var configured = options.CurrentValue.SourceFor(registry)
            ?? throw new RemediationRefusedException($"no credential source is configured for {registry}; add one under Remediation:CredentialSources");
        var @namespace = string.IsNullOrEmpty(configured.Namespace) ? cluster.OwnNamespace : configured.Namespace;
        if (string.IsNullOrEmpty(@namespace))
        {
            throw new RemediationRefusedException(
                $"the bot does not know its own namespace, so it cannot find the credential source {configured.Secret}; set its Namespace under Remediation:CredentialSources");
        }

        var describe = $"source secret {@namespace}/{configured.Secret}";
        var secret = await secrets.ReadSecretAsync(@namespace, configured.Secret, cancellationToken).ConfigureAwait(false)
            ?? throw new RemediationRefusedException($"the credential {describe} does not exist");
        if (secret.Type != PullSecretResolver.DockerConfigJsonType)
        {
            throw new RemediationRefusedException($"the credential {describe} has type {secret.Type ?? "Opaque"}; it must be {PullSecretResolver.DockerConfigJsonType}");
        }

        var image = ImageFor(input.Image, registry);
        var resolution = resolver.Resolve(image, [secret]);
        var match = (resolution.Matches.Count > 0 ? resolution.Matches[0] : null)
            ?? throw new RemediationRefusedException($"the credential {describe} has no entry kubelet would use for {registry}: {resolution.Summary}");
        if (match.Credentials is null)
        {
            throw new RemediationRefusedException($"the entry \"{match.AuthsKey}\" in the credential {describe} gives no username and password kubelet could use");
        }

        var config = JsonNode.Parse(Encoding.UTF8.GetString(secret.Data[PullSecretResolver.DockerConfigJsonKey]));
        var entry = config?["auths"]?[match.AuthsKey]
            ?? throw new RemediationRefusedException($"the credential {describe} changed while it was read; ask again");
        return new Source(describe, image, match.AuthsKey, entry.DeepClone(), match.Credentials);
    }

    /// <summary>The incident's image when it is on this registry; otherwise a reference on the registry for the credential check.</summary>
    private static ImageReference ImageFor(string? image, string registry)
    {
        if (ImageReference.TryParse(image, out var reference, out _) && string.Equals(reference.Domain, registry, StringComparison.OrdinalIgnoreCase))
        {
            return reference;
        }

        return ImageReference.TryParse($"{registry}/chatopspull/credential-check:latest", out var probe, out var error)
            ? probe
            : throw new RemediationRefusedException($"{registry} is not a registry host the bot can check ({error})");
    }

    /// <summary>Creates or updates the target secret with the source's entry; with <paramref name="dryRun"/> it returns the diff lines.</summary>
    private Task<IReadOnlyList<string>> WriteAsync(ActionInput input, Source source, bool dryRun, CancellationToken cancellationToken)
    {
        var @namespace = input.Plan.Namespace;
        var name = input.Parameter("secret");
        var client = cluster.Client;
        return cluster.Calls.RunAsync<IReadOnlyList<string>>(
            KubeTarget.For("update", "Secret", @namespace),
            async ct =>
            {
                // A create that loses to another writer (409 AlreadyExists) reads again and updates instead.
                for (var round = 1; ; round++)
                {
                    var existing = await secrets.ReadSecretAsync(@namespace, name, ct).ConfigureAwait(false);
                    if (existing is null)
                    {
                        try
                        {
                            await client.CoreV1.CreateNamespacedSecretAsync(NewSecret(name, @namespace, source), @namespace, dryRun: dryRun ? "All" : null, cancellationToken: ct).ConfigureAwait(false);
                        }
                        catch (Exception e) when (round < 3 && KubernetesCalls.IsAlreadyExists(e))
                        {
                            continue;
                        }
                        catch (k8s.Autorest.HttpOperationException e) when (e.Response?.StatusCode == System.Net.HttpStatusCode.Forbidden)
                        {
                            throw new RemediationRefusedException(KubeTarget.For("create", "Secret", @namespace).ExplainForbidden());
                        }

                        return [$"secret {name}: created ({PullSecretResolver.DockerConfigJsonType} with the {source.AuthsKey} entry of the {source.Describe}; content not shown)"];
                    }

                    return await UpdateAsync(existing, name, @namespace, source, dryRun, ct).ConfigureAwait(false);
                }
            },
            cancellationToken);
    }

    private static V1Secret NewSecret(string name, string @namespace, Source source) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = @namespace,
            Labels = new Dictionary<string, string> { [ManagedByLabel] = ManagedByValue },
            Annotations = new Dictionary<string, string> { [SourceAnnotation] = source.Describe },
        },
        Type = PullSecretResolver.DockerConfigJsonType,
        Data = new Dictionary<string, byte[]> { [PullSecretResolver.DockerConfigJsonKey] = Config(null, source) },
    };

    private async Task<IReadOnlyList<string>> UpdateAsync(V1Secret existing, string name, string @namespace, Source source, bool dryRun, CancellationToken cancellationToken)
    {
        if (existing.Type != PullSecretResolver.DockerConfigJsonType)
        {
            throw new RemediationRefusedException(
                $"secret {@namespace}/{name} exists with type {existing.Type ?? "Opaque"}; the bot writes only {PullSecretResolver.DockerConfigJsonType} secrets and will not replace it");
        }

        var current = existing.Data?.TryGetValue(PullSecretResolver.DockerConfigJsonKey, out var bytes) == true ? bytes : null;
        if (JsonNode.DeepEquals(ReadAuths(current)?[source.AuthsKey], source.Entry))
        {
            return [$"secret {name} already holds the {source.AuthsKey} entry of the {source.Describe}"];
        }

        if (!IsManagedByTheBot(existing))
        {
            throw new RemediationRefusedException(
                $"secret {@namespace}/{name} was not written by the bot (no label {ManagedByLabel}={ManagedByValue}), and the bot changes only the pull secrets it manages; " +
                $"to let it refresh this one: kubectl -n {@namespace} label secret {name} {ManagedByLabel}={ManagedByValue}");
        }

        var before = ClusterAccess.ToJson(existing);
        existing.Data ??= new Dictionary<string, byte[]>();
        existing.Data[PullSecretResolver.DockerConfigJsonKey] = Config(current, source);
        existing.Metadata.Annotations ??= new Dictionary<string, string>();
        existing.Metadata.Annotations[SourceAnnotation] = source.Describe;

        // PUT with the resourceVersion read: a concurrent writer makes this 409, and the caller reads and applies again.
        var replaced = await cluster.Client.CoreV1.ReplaceNamespacedSecretAsync(existing, name, @namespace, dryRun: dryRun ? "All" : null, cancellationToken: cancellationToken).ConfigureAwait(false);
        var lines = ObjectDiff.Lines(before, ClusterAccess.ToJson(replaced)).Select(l => $"secret {name}: {l}").ToList();
        return dryRun ? lines : [$"updated the {source.AuthsKey} entry of secret {name} from the {source.Describe}"];
    }

    public static bool IsManagedByTheBot(V1Secret secret) =>
        secret.Metadata?.Labels?.TryGetValue(ManagedByLabel, out var value) == true && value == ManagedByValue;

    private static JsonObject? ReadAuths(byte[]? dockerConfigJson)
    {
        if (dockerConfigJson is null)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(Encoding.UTF8.GetString(dockerConfigJson))?["auths"] as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static byte[] Config(byte[]? current, Source source)
    {
        JsonObject config;
        try
        {
            config = current is null ? new JsonObject() : JsonNode.Parse(Encoding.UTF8.GetString(current)) as JsonObject ?? new JsonObject();
        }
        catch (System.Text.Json.JsonException)
        {
            config = new JsonObject(); // unreadable for kubelet too; replaced by a readable one
        }

        if (config["auths"] is not JsonObject auths)
        {
            auths = new JsonObject();
            config["auths"] = auths;
        }

        auths[source.AuthsKey] = source.Entry.DeepClone();
        return Encoding.UTF8.GetBytes(config.ToJsonString());
    }

    private sealed record Source(string Describe, ImageReference Image, string AuthsKey, JsonNode Entry, RegistryCredentials Credentials);
}
