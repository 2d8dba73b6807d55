using System.Globalization;
using ChatOpsPull.Digest;
using ChatOpsPull.Incidents;
using ChatOpsPull.Chat.Digest;

namespace ChatOpsPull.Chat.Commands;

/// <summary>
/// The channel-neutral command handler behind Slack slash commands, Slack mentions and DMs (HTTP or Socket Mode), and
/// Teams messages: one parser, one set of answers, one policy. Answers about the cluster (status, diagnose, check) are
/// ephemeral; changes others should see (a snooze, a retry request's card) go to the channel.
/// </summary>
public sealed partial class ChatCommandHandler(
    StatusCommand status,
    DiagnoseCommand diagnose,
    CheckCommand check,
    RetryCommand retry,
    IncidentStore incidents,
    IncidentEngine engine,
    IServiceProvider services,
    TimeProvider time,
    ILogger<ChatCommandHandler> log) : IChatCommandHandler
{
    public const string NoDigest = "The digest is not set up on this bot (no digest publisher is installed), so nothing was posted.";

    public async Task<ChatReply> HandleAsync(ChatCommandRequest request, CancellationToken cancellationToken)
    {
        var command = ChatCommandParser.Parse(request.Text);
        var name = CommandName(command);
        LogCommand(log, request.User.Platform, request.User.Id, name);
        return command switch
        {
            ChatCommand.Status s => await status.AnswerAsync(s, cancellationToken).ConfigureAwait(false),
            ChatCommand.Diagnose d => await diagnose.AnswerAsync(d, cancellationToken).ConfigureAwait(false),
            ChatCommand.Check c => await check.AnswerAsync(c, cancellationToken).ConfigureAwait(false),
            ChatCommand.Retry r => await retry.AnswerAsync(request, r, cancellationToken).ConfigureAwait(false),
            ChatCommand.Snooze s => await SnoozeAsync(request.User, s, cancellationToken).ConfigureAwait(false),
            ChatCommand.Digest => await DigestAsync(request, cancellationToken).ConfigureAwait(false),
            ChatCommand.Help h => Help(h),
            _ => Help(new ChatCommand.Help("That command is not handled by this bot.")),
        };
    }

    /// <summary>The help text, led by what was wrong with the input when something was.</summary>
    public static ChatReply Help(ChatCommand.Help help) =>
        new(help.Problem is null ? ChatCommandParser.HelpText : help.Problem + "\n\n" + ChatCommandParser.HelpText);

    private async Task<ChatReply> SnoozeAsync(ChatUser user, ChatCommand.Snooze snooze, CancellationToken cancellationToken)
    {
        var incident = await incidents.GetAsync(snooze.IncidentId, cancellationToken).ConfigureAwait(false);
        if (incident is null)
        {
            return new ChatReply($"There is no incident `{snooze.IncidentId}`. `status` lists the open ones.");
        }

        if (incident.IsClosed)
        {
            return new ChatReply($"Incident `{incident.Id}` is already {(incident.State == Core.Incidents.IncidentState.Resolved ? "resolved" : "closed")}; there is nothing to snooze.");
        }

        var until = time.GetUtcNow() + snooze.Duration;
        var update = await engine.SnoozeAsync(incident.Id, until, user.ToAuditActor(), cancellationToken).ConfigureAwait(false);
        return update.Outcome switch
        {
            IncidentUpdateOutcome.Changed => new ChatReply(
                $"{user.DisplayName} snoozed `{incident.Id}` ({incident.Key.Namespace}/{incident.Workload?.ToString() ?? incident.Key.Subject}) until {Time(until)}: its card is not updated until then.",
                Ephemeral: false),
            IncidentUpdateOutcome.Unchanged => new ChatReply($"`{incident.Id}` is already snoozed until {Time(until)}. Nothing changed."),
            IncidentUpdateOutcome.NotFound => new ChatReply($"There is no incident `{snooze.IncidentId}`. `status` lists the open ones."),
            IncidentUpdateOutcome.Refused => new ChatReply($"`{incident.Id}` was not snoozed: {update.Message}"),
            _ => throw new ArgumentOutOfRangeException(nameof(snooze), update.Outcome, "unknown incident update outcome"),
        };
    }

    private async Task<ChatReply> DigestAsync(ChatCommandRequest request, CancellationToken cancellationToken)
    {
        var publisher = services.GetService<IDigestPublisher>();
        return publisher is null
            ? new ChatReply(NoDigest)
            : await publisher.PublishNowAsync(request.User.Platform, request.ChannelId, cancellationToken).ConfigureAwait(false);
    }

    private static string CommandName(ChatCommand command) => command switch
    {
        ChatCommand.Status => "status",
        ChatCommand.Diagnose => "diagnose",
        ChatCommand.Check => "check",
        ChatCommand.Retry => "retry",
        ChatCommand.Snooze => "snooze",
        ChatCommand.Digest => "digest",
        ChatCommand.Help { Problem: null } => "help",
        ChatCommand.Help => "help (unknown or malformed input)",
        _ => "unknown",
    };

    internal static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Information, Message = "Command {Command} from {Platform} user {User}")]
    private static partial void LogCommand(ILogger logger, ChatPlatform platform, string user, string command);
}
