using System.Globalization;
using System.Text;
using System.Text.Json;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Core.Images;
using ChatOpsPull.Registry;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Cli;

/// <summary>
/// <c>chatopspull check IMAGE [--secret-file dockerconfig.json] [--platform os/arch[/variant]]</c>: checks one image
/// against its registry from this machine and prints the evidence. Exit 0 when pullable, 1 when not, 2 on usage errors.
/// The secret file is a docker config (<c>{"auths":…}</c>, or the legacy .dockercfg form); its entries are matched to the
/// image the way kubelet matches a pull secret. Registry settings come from configuration, e.g.
/// <c>--Registry:Hosts:0:Host=registry.local:5000 --Registry:Hosts:0:PlainHttp=true</c>.
/// </summary>
public static class CheckVerb
{
    public static readonly CliVerb Verb = new(
        "check",
        "Check an image against its registry: check IMAGE [--secret-file dockerconfig.json] [--platform linux/arm64].",
        RunAsync);

    private const int MaxSecretBytes = 1024 * 1024;

    private const string Usage = "usage: chatopspull check IMAGE [--secret-file dockerconfig.json] [--platform os/arch[/variant]] [--Registry:Key=value …]";

    public static async Task<int> RunAsync(string[] args, CliIo io)
    {
        string? image = null, secretFile = null, platformText = null;
        var configArgs = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                await io.Out.WriteLineAsync(Usage).ConfigureAwait(false);
                return 0;
            }

            if (TryOption(args, ref i, "--secret-file", out var value) is { } secretOk)
            {
                if (!secretOk)
                {
                    return await UsageErrorAsync(io, "--secret-file needs a file name").ConfigureAwait(false);
                }

                secretFile = value;
            }
            else if (TryOption(args, ref i, "--platform", out value) is { } platformOk)
            {
                if (!platformOk)
                {
                    return await UsageErrorAsync(io, "--platform needs a value such as linux/arm64").ConfigureAwait(false);
                }

                platformText = value;
            }
            else if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Contains(':', StringComparison.Ordinal) && arg.Contains('=', StringComparison.Ordinal))
            {
                configArgs.Add(arg);
            }
            else if (arg.StartsWith('-'))
            {
                return await UsageErrorAsync(io, $"unknown option '{arg}'").ConfigureAwait(false);
            }
            else if (image is null)
            {
                image = arg;
            }
            else
            {
                return await UsageErrorAsync(io, $"one image at a time ('{arg}' is extra)").ConfigureAwait(false);
            }
        }

        if (image is null)
        {
            return await UsageErrorAsync(io, "which image? e.g. chatopspull check nginx:1.25").ConfigureAwait(false);
        }

        Platform? platform = null;
        if (platformText is not null && !Platform.TryParse(platformText, out platform, out var platformError))
        {
            return await UsageErrorAsync(io, platformError).ConfigureAwait(false);
        }

        V1Secret? secret = null;
        if (secretFile is not null)
        {
            try
            {
                if (new FileInfo(secretFile).Length > MaxSecretBytes)
                {
                    return await UsageErrorAsync(io, $"--secret-file {secretFile} is larger than a Kubernetes secret can be (1 MiB)").ConfigureAwait(false);
                }

                secret = ReadSecretFile(secretFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return await UsageErrorAsync(io, $"cannot read --secret-file {secretFile}: {e.Message}").ConfigureAwait(false);
            }
        }

        if (!ImageReference.TryParse(image, out var reference, out var nameError))
        {
            await io.Out.WriteLineAsync($"check {image}").ConfigureAwait(false);
            await io.Out.WriteLineAsync().ConfigureAwait(false);
            await io.Out.WriteLineAsync($"{PullCause.InvalidName.ToSnakeCase()}: {nameError}").ConfigureAwait(false);
            return 1;
        }

        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables("CHATOPSPULL__")
            .AddCommandLine(configArgs.ToArray())
            .Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddRegistry(configuration);
        await using var provider = services.BuildServiceProvider();
        try
        {
            _ = provider.GetRequiredService<IOptions<RegistryOptions>>().Value;
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures)
            {
                await io.Error.WriteLineAsync($"chatopspull check: {failure}").ConfigureAwait(false);
            }

            return 2;
        }

        var checker = provider.GetRequiredService<RegistryChecker>();
        await io.Out.WriteLineAsync($"check {reference}{(platform is null ? string.Empty : $" for {platform}")}").ConfigureAwait(false);
        bool pullable;
        if (secret is null)
        {
            var result = await checker.CheckAsync(reference, null, platform, CancellationToken.None).ConfigureAwait(false);
            await io.Out.WriteAsync(Render(result)).ConfigureAwait(false);
            pullable = result.Pullable;
        }
        else
        {
            var result = await checker.CheckWithPullSecretsAsync(reference, [secret], platform, CancellationToken.None).ConfigureAwait(false);
            await io.Out.WriteAsync(Render(result)).ConfigureAwait(false);
            pullable = result.Pullable;
        }

        return pullable ? 0 : 1;
    }

    /// <summary>The evidence of a check as aligned terminal lines, then the verdict.</summary>
    public static string Render(RegistryCheck check)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"credentials: {check.Credentials}");
        text.AppendLine();
        AppendEvidence(text, check.Evidence);
        text.AppendLine();
        AppendVerdict(text, check);
        return text.ToString();
    }

    public static string Render(KubeletPullCheck check)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"pull secret: {check.Resolution.Summary}");
        text.AppendLine();
        AppendEvidence(text, check.Resolution.ToEvidence());
        for (var i = 0; i < check.Attempts.Count; i++)
        {
            var attempt = check.Attempts[i];
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"attempt {i + 1} of {check.Attempts.Count}: {attempt.Credentials}");
            AppendEvidence(text, attempt.Evidence);
        }

        text.AppendLine();
        AppendVerdict(text, check.Outcome);
        return text.ToString();
    }

    private static void AppendEvidence(StringBuilder text, IReadOnlyList<Evidence> evidence)
    {
        var width = Math.Min(38, evidence.Select(e => e.Check.Length).DefaultIfEmpty(10).Max());
        foreach (var e in evidence)
        {
            var mark = e.Outcome switch
            {
                EvidenceOutcome.Passed => "PASS",
                EvidenceOutcome.Failed => "FAIL",
                EvidenceOutcome.Info => "INFO",
                EvidenceOutcome.Skipped => "SKIP",
                _ => throw new InvalidOperationException($"unknown outcome {e.Outcome}"),
            };
            var check = e.Check.Length > width ? e.Check[..(width - 1)] + "…" : e.Check;
            var duration = e.Duration is { } d ? string.Create(CultureInfo.InvariantCulture, $"{d.TotalMilliseconds,8:0.0} ms") : new string(' ', 11);
            text.AppendLine(CultureInfo.InvariantCulture, $"  {mark}  {check.PadRight(width)}  {duration}  {e.Detail}");
        }
    }

    private static void AppendVerdict(StringBuilder text, RegistryCheck check)
    {
        var verdict = check.Cause is { } cause ? $"{cause.ToSnakeCase()} ({ConfidenceWord(check.Confidence)} confidence)" : "pullable";
        text.AppendLine(CultureInfo.InvariantCulture, $"{verdict}: {check.Summary}");
        if (check.SuggestedTags.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"suggested tags: {string.Join(", ", check.SuggestedTags.Select(s => $"{s.Tag} ({s.Explanation})"))}");
        }

        if (check.RateLimit is { } rate)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"rate limit: {rate}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"checked in {check.Duration.TotalMilliseconds:0} ms from this machine");
    }

    private static string ConfidenceWord(double confidence) => confidence switch
    {
        >= 0.85 => "high",
        >= 0.6 => "medium",
        _ => "low",
    };

    /// <summary>A docker config file as the pull secret kubelet would get: dockerconfigjson when it has "auths", else legacy dockercfg.</summary>
    private static V1Secret ReadSecretFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var legacy = false;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            legacy = doc.RootElement.ValueKind == JsonValueKind.Object
                     && !doc.RootElement.EnumerateObject().Any(p => string.Equals(p.Name, "auths", StringComparison.OrdinalIgnoreCase));
        }
        catch (JsonException)
        {
            // the resolver reports the JSON problem as kubelet would
        }

        return new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = Path.GetFileName(path) },
            Type = legacy ? PullSecretResolver.DockerCfgType : PullSecretResolver.DockerConfigJsonType,
            Data = new Dictionary<string, byte[]> { [legacy ? PullSecretResolver.DockerCfgKey : PullSecretResolver.DockerConfigJsonKey] = bytes },
        };
    }

    /// <summary>Matches "--name value" or "--name=value"; null when <paramref name="args"/>[i] is another option.</summary>
    private static bool? TryOption(string[] args, ref int i, string name, out string value)
    {
        value = string.Empty;
        var arg = args[i];
        if (arg.StartsWith(name + "=", StringComparison.Ordinal))
        {
            value = arg[(name.Length + 1)..];
            return value.Length > 0;
        }

        if (arg != name)
        {
            return null;
        }

        if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            return false;
        }

        value = args[++i];
        return true;
    }

    private static async Task<int> UsageErrorAsync(CliIo io, string message)
    {
        await io.Error.WriteLineAsync($"chatopspull check: {message}").ConfigureAwait(false);
        await io.Error.WriteLineAsync(Usage).ConfigureAwait(false);
        return 2;
    }
}
