using System.Reflection;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Hosting;

/// <summary>
/// Turns a configuration the bot cannot start with into sentences for the operator: every failed validation, and values
/// the configuration binder could not convert ("Jobs:WorkerCount=many"). Anything else is not a configuration problem
/// and is left to propagate.
/// </summary>
public static class StartupProblems
{
    /// <summary>The process exit code when the configuration is not valid.</summary>
    public const int InvalidConfigurationExitCode = 3;

    /// <summary>The sentences, or null when <paramref name="exception"/> is not about the configuration.</summary>
    public static IReadOnlyList<string>? Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var sentences = new List<string>();
        foreach (var e in Flatten(exception))
        {
            switch (e)
            {
                case OptionsValidationException validation:
                    sentences.AddRange(validation.Failures.SelectMany(SplitFailure));
                    break;
                case Fleet.FleetConflictException refused:
                    sentences.Add(refused.Message);
                    break;
                case InvalidOperationException conversion when conversion.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal):
                    sentences.Add(conversion.Message.TrimEnd('.') + ": " + ExpectedValue(conversion.Message));
                    break;
                default:
                    return null;
            }
        }

        return sentences.Count == 0 ? null : sentences.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Builds and runs the host; a configuration problem is written to <paramref name="error"/> and ends with exit code 3.
    /// When the bot is not the process's program (a test host runs its entry point in process, as WebApplicationFactory
    /// does), the exception is left to the caller, which expects start to throw.
    /// </summary>
    public static async Task<int> RunAsync(Func<WebApplication> build, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            var app = build();
            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (RunsAsTheProgram && Describe(e) is { } sentences)
        {
            await error.WriteLineAsync("chatopspull: the configuration is not valid, so the bot did not start:").ConfigureAwait(false);
            foreach (var sentence in sentences)
            {
                await error.WriteLineAsync("  - " + sentence).ConfigureAwait(false);
            }

            await error.WriteLineAsync("Settings come from appsettings.json, CHATOPSPULL__Section__Key environment variables and --Section:Key=value options (see the README).").ConfigureAwait(false);
            return InvalidConfigurationExitCode;
        }
    }

    /// <summary>"set it to one of Remediate, Observe." for the bot's own enums; otherwise "set it to a value of that type.".</summary>
    private static string ExpectedValue(string message)
    {
        const string marker = "to type '";
        var at = message.IndexOf(marker, StringComparison.Ordinal);
        var end = at < 0 ? -1 : message.IndexOf('\'', at + marker.Length);
        var type = end < 0 ? null : typeof(StartupProblems).Assembly.GetType(message[(at + marker.Length)..end]);
        return type is { IsEnum: true }
            ? $"set it to one of {string.Join(", ", Enum.GetNames(type))}."
            : "set it to a value of that type.";
    }

    private static bool RunsAsTheProgram => Assembly.GetEntryAssembly() == typeof(StartupProblems).Assembly;

    private static IEnumerable<Exception> Flatten(Exception exception) => exception switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(Flatten),
        _ => [exception],
    };

    /// <summary>DataAnnotations failures arrive as "DataAnnotation validation failed for 'X' members: 'Y' with the error: 'sentence'."; keep the sentence.</summary>
    private static IEnumerable<string> SplitFailure(string failure)
    {
        const string marker = "with the error: '";
        var at = failure.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            yield return failure;
            yield break;
        }

        var sentence = failure[(at + marker.Length)..];
        yield return sentence.EndsWith("'.", StringComparison.Ordinal) ? sentence[..^2] : sentence.TrimEnd('\'');
    }
}
