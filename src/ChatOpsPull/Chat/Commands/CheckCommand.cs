using System.Globalization;
using System.Text.Json;
using ChatOpsPull.Chat.Cards;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Registry;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Commands;

/// <summary>
/// <c>check &lt;image&gt;</c>: asks the image's registry now, anonymously or with the entry of
/// <see cref="ChatCommandOptions.CheckCredentialsFile"/> that matches the image's host (kubelet's matching), and
/// answers with the evidence. Ephemeral. The card names the credentials used (user and source), never their contents.
/// </summary>
public sealed partial class CheckCommand(RegistryChecker checker, IOptionsMonitor<ChatCommandOptions> options, ILogger<CheckCommand> log)
{
    private const int MaxCredentialsBytes = 1024 * 1024;

    public async Task<ChatReply> AnswerAsync(ChatCommand.Check command, CancellationToken cancellationToken)
    {
        var file = options.CurrentValue.CheckCredentialsFile;
        RegistryCheck result;
        string? credentialNote = null;
        if (string.IsNullOrWhiteSpace(file))
        {
            result = await checker.CheckAsync(command.Image, null, null, cancellationToken).ConfigureAwait(false);
        }
        else if (ReadCredentials(file) is { } secret)
        {
            var kubelet = await checker.CheckWithPullSecretsAsync(command.Image, [secret], null, cancellationToken).ConfigureAwait(false);
            result = kubelet.Outcome;
            credentialNote = kubelet.Resolution.Matches.Count == 0
                ? $"No entry of the configured credentials matches {command.Image.Domain}, so the check was anonymous."
                : null;
        }
        else
        {
            credentialNote = "The configured credentials file could not be read (see the bot's log), so the check was anonymous.";
            result = await checker.CheckAsync(command.Image, null, null, cancellationToken).ConfigureAwait(false);
        }

        var card = Build(result, credentialNote);
        return new ChatReply(card.FallbackText) { Card = card };
    }

    public static Card Build(RegistryCheck check, string? credentialNote)
    {
        var verdict = check.Cause is { } cause ? $"{cause.ToSnakeCase()} ({Confidence(check.Confidence)} confidence)" : "pullable";
        var facts = new List<CardFact>
        {
            new("Image", check.Image.ToString()),
            new("Registry", check.Image.Domain),
            new("Credentials", check.Credentials),
            new("Verdict", verdict),
        };
        if (check.Digest is { } digest)
        {
            facts.Add(new CardFact("Digest", digest));
        }

        if (check.Platforms.Count > 0)
        {
            facts.Add(new CardFact("Platforms", string.Join(", ", check.Platforms.Take(12)) + (check.Platforms.Count > 12 ? $" and {check.Platforms.Count - 12} more" : string.Empty)));
        }

        if (check.RateLimit is { } rate)
        {
            facts.Add(new CardFact("Rate limit", rate.ToString()));
        }

        if (check.CredentialLifetime is { } lifetime)
        {
            facts.Add(new CardFact("Credential expiry", lifetime.Describe(check.CheckedAt)));
        }

        var sections = new List<CardSection> { CardSection.Markdown(null, check.Summary) };
        if (credentialNote is not null)
        {
            sections.Add(CardSection.Markdown(null, credentialNote));
        }

        sections.Add(CardSection.List("Evidence", check.Evidence.Select(IncidentCardBuilder.EvidenceLine).ToArray()));
        if (check.SuggestedTags.Count > 0)
        {
            sections.Add(CardSection.List("Tags that exist", check.SuggestedTags.Select(t => new CardLine($"`{t.Tag}` — {t.Explanation}", LineMark.Info)).ToArray()));
        }

        var title = check.Pullable ? $"✅ {check.Image} can be pulled" : $"❌ {check.Image}: {check.Cause!.Value.Describe()}";
        var took = string.Create(CultureInfo.InvariantCulture, $"{check.Duration.TotalMilliseconds:0} ms");
        return new Card($"check:{check.Image}", title, check.Pullable ? CardTone.Good : CardTone.Bad, $"{title}. {check.Summary}", facts, sections, [])
        {
            Footer = $"Checked {check.CheckedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)} in {took}{(check.FromCache ? " (shared with a check moments ago)" : string.Empty)} · from the bot's own network, which may differ from the nodes'",
        };
    }

    private static string Confidence(double confidence) => confidence switch
    {
        >= 0.85 => "high",
        >= 0.6 => "medium",
        _ => "low",
    };

    /// <summary>The configured docker config as the pull secret kubelet would get; null (logged, never its content) when unreadable.</summary>
    private V1Secret? ReadCredentials(string path)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > MaxCredentialsBytes)
            {
                LogUnreadable(log, path, info.Exists ? "larger than 1 MiB" : "missing");
                return null;
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogUnreadable(log, path, e.GetType().Name);
            return null;
        }

        var legacy = false;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            legacy = document.RootElement.ValueKind == JsonValueKind.Object
                     && !document.RootElement.EnumerateObject().Any(p => string.Equals(p.Name, "auths", StringComparison.OrdinalIgnoreCase));
        }
        catch (JsonException)
        {
            // the resolver reports a malformed file as kubelet would, without its content
        }

        return new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = Path.GetFileName(path) },
            Type = legacy ? PullSecretResolver.DockerCfgType : PullSecretResolver.DockerConfigJsonType,
            Data = new Dictionary<string, byte[]> { [legacy ? PullSecretResolver.DockerCfgKey : PullSecretResolver.DockerConfigJsonKey] = bytes },
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Commands:CheckCredentialsFile {Path} could not be read ({Why}); checking anonymously.")]
    private static partial void LogUnreadable(ILogger logger, string path, string why);
}
