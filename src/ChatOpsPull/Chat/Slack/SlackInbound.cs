using System.Text.Json.Nodes;
using ChatOpsPull.Chat.Cards;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Chat.Slack;

/// <summary>
/// What the bot does with a verified command, click or event, whichever way it arrived (HTTP or Socket Mode):
/// acknowledge at once, hand the work to the channel-neutral handlers in the background, answer through the outbox.
/// </summary>
public sealed partial class SlackInbound(
    IServiceProvider services,
    SlackReplies replies,
    SlackUserGroups groups,
    SlackSeenEvents seen,
    SlackCardMessages cards,
    SlackBackgroundWork background,
    IOptionsMonitor<SlackOptions> options,
    TimeProvider time,
    ILogger<SlackInbound> log)
{
    public const string WorkingOnIt = "Working on it…";
    public const string InvalidButton = "This button is not valid any more.";
    public const string NoCommandHandler = "This bot has no command handler installed, so it cannot answer commands yet.";
    public const string NoActionHandler = "This bot has no button handler installed, so this click changed nothing.";

    /// <summary>
    /// The acknowledgement body for a slash command: the answer itself when the handler is done within
    /// <see cref="SlackOptions.InlineReplyBudget"/>, else "Working on it…" and the answer follows through the outbox.
    /// </summary>
    /// <param name="canAnswerInline">False when the acknowledgement cannot carry a message (the answer then always follows).</param>
    public async Task<JsonObject?> AcceptCommandAsync(SlackSlashCommand command, bool canAnswerInline = true)
    {
        var current = options.CurrentValue;
        if (!string.Equals(command.Command, current.CommandName, StringComparison.OrdinalIgnoreCase))
        {
            LogUnknownCommand(log, command.Command);
            var help = $"I only answer `{current.CommandName}`. Try `{current.CommandName} help` to see what I can do.";
            if (canAnswerInline)
            {
                return SlackReplies.Ephemeral(help);
            }

            background.Run("unknown command help", ct => replies.ReplyToCommandAsync(command, new ChatReply(help), ct));
            return null;
        }

        var answer = Task.Run(() => AnswerCommandAsync(command, command.Text, background.Stopping));
        if (canAnswerInline)
        {
            if (current.InlineReplyBudget > TimeSpan.Zero && !answer.IsCompleted)
            {
                await Task.WhenAny(answer, Task.Delay(current.InlineReplyBudget, time)).ConfigureAwait(false);
            }

            if (answer.IsCompletedSuccessfully)
            {
                return SlackReplies.CommandAck(answer.Result);
            }
        }

        background.Run("slash command answer", async ct =>
        {
            var reply = await answer.ConfigureAwait(false);
            await replies.ReplyToCommandAsync(command, reply, ct).ConfigureAwait(false);
        });
        return canAnswerInline ? SlackReplies.Ephemeral(WorkingOnIt) : null;
    }

    /// <summary>Takes a click; everything after the acknowledgement happens in the background.</summary>
    public void AcceptClick(SlackBlockAction click) => background.Run("button click", async ct =>
    {
        if (!CardActionPayload.TryParse(click.Value, out var payload))
        {
            LogInvalidButton(log, click.ActionId, click.ChannelId);
            await replies.TellClickerAsync(click, InvalidButton, ct).ConfigureAwait(false);
            return;
        }

        var handler = services.GetService<IChatActionHandler>();
        ChatReply reply;
        if (handler is null)
        {
            reply = new ChatReply(NoActionHandler);
        }
        else
        {
            var user = new ChatUser(ChatPlatform.Slack, click.UserId, click.UserName, await groups.GroupsOfAsync(click.UserId, ct).ConfigureAwait(false));
            var cardKey = click.MessageTs is null ? null : await cards.FindCardKeyAsync(click.ChannelId, click.MessageTs, ct).ConfigureAwait(false);
            try
            {
                reply = await handler.HandleAsync(new ChatActionRequest(user, payload, click.ChannelId, cardKey), ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                LogHandlerFailed(log, ex, "click " + CardActionPayload.VerbName(payload.Verb));
                reply = new ChatReply("Sorry, handling that click failed on the bot's side; nothing was changed that I know of. The error is in the bot's log.");
            }
        }

        await replies.ReplyToClickAsync(click, reply, ct).ConfigureAwait(false);
    });

    /// <summary>Takes an Events API event. Returns false when it was seen before (a retry) and so not processed again.</summary>
    public async Task<bool> AcceptEventAsync(SlackEvent slackEvent, CancellationToken cancellationToken)
    {
        if (!await seen.TryMarkSeenAsync("event:" + slackEvent.EventId, cancellationToken).ConfigureAwait(false))
        {
            LogRepeatedEvent(log, slackEvent.EventId);
            return false;
        }

        var isCommand = !slackEvent.FromBot && slackEvent.UserId is not null && slackEvent.ChannelId is not null && slackEvent.Type switch
        {
            "app_mention" => true,
            "message" => slackEvent.ChannelType == "im",
            _ => false,
        };
        if (!isCommand)
        {
            return true;
        }

        background.Run("event " + slackEvent.Type, async ct =>
        {
            var reply = await AnswerCommandAsync(
                new SlackSlashCommand(options.CurrentValue.CommandName, string.Empty, slackEvent.UserId!, slackEvent.UserId!, slackEvent.ChannelId!, null, null, null),
                SlackPayloads.CommandText(slackEvent.Text),
                ct).ConfigureAwait(false);
            await replies.ReplyToEventAsync(slackEvent, reply, ct).ConfigureAwait(false);
        });
        return true;
    }

    /// <summary>Runs the command handler; never throws (a failure becomes an apologetic answer).</summary>
    private async Task<ChatReply> AnswerCommandAsync(SlackSlashCommand command, string text, CancellationToken cancellationToken)
    {
        var handler = services.GetService<IChatCommandHandler>();
        if (handler is null)
        {
            return new ChatReply(NoCommandHandler);
        }

        try
        {
            var user = new ChatUser(ChatPlatform.Slack, command.UserId, command.UserName, await groups.GroupsOfAsync(command.UserId, cancellationToken).ConfigureAwait(false));
            return await handler.HandleAsync(new ChatCommandRequest(user, text, command.ChannelId), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogHandlerFailed(log, ex, "command");
            return new ChatReply("Sorry, that command failed on the bot's side. The error is in the bot's log.");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack command {Command} is not ours; answered with help.")]
    private static partial void LogUnknownCommand(ILogger logger, string command);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a click on {ActionId} in {Channel}: its value is not a valid button payload.")]
    private static partial void LogInvalidButton(ILogger logger, string actionId, string channel);

    [LoggerMessage(Level = LogLevel.Error, Message = "The chat handler failed on a Slack {What}.")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack event {EventId} was already processed; ignoring the retry.")]
    private static partial void LogRepeatedEvent(ILogger logger, string eventId);
}
