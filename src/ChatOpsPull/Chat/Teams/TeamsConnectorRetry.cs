using ChatOpsPull.Chat.Teams.Auth;
using Polly;
using Polly.Retry;

namespace ChatOpsPull.Chat.Teams;

/// <summary>
/// The resilience pipeline "teams-connector" around one Bot Connector call (token, then request): a 401 means the cached
/// token may have been revoked or rotated, so the token is dropped and the call is made once more with a fresh one. No
/// other answer is retried here — 429, 412, 5xx and network failures go back to the outbox, which owns retries and
/// pacing (Retry-After included), so a POST is never sent twice blindly. The rule is the Bot Framework's, not a setting.
/// </summary>
public static class TeamsConnectorRetry
{
    public const string PipelineName = "teams-connector";

    public static ResiliencePipelineBuilder<ConnectorResponse> Configure(ResiliencePipelineBuilder<ConnectorResponse> builder, BotTokenSource tokens, TimeProvider time)
    {
        builder.TimeProvider = time;
        return builder.AddRetry(new RetryStrategyOptions<ConnectorResponse>
        {
            Name = "fresh-token",
            MaxRetryAttempts = 1,
            Delay = TimeSpan.Zero,
            BackoffType = DelayBackoffType.Constant,
            UseJitter = false,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { Status: 401 }),
            OnRetry = _ =>
            {
                tokens.Invalidate();
                return ValueTask.CompletedTask;
            },
        });
    }
}
