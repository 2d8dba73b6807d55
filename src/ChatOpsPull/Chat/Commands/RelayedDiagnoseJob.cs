using System.ComponentModel;
using ChatOpsPull.Fleet;
using Hangfire;

namespace ChatOpsPull.Chat.Commands;

/// <summary>
/// A live <c>diagnose</c> asked on another bot of the fleet, run on the pod's cluster's queue by that cluster's bot: reads
/// the pod with this bot's own credentials and writes the reply into the question's row (<see cref="FleetRelays"/>). A
/// question whose asker stopped waiting, or one that landed on the wrong bot, is left alone. The job argument is the
/// question's id only.
/// </summary>
public sealed class RelayedDiagnoseJob(FleetRelays relays, DiagnoseCommand diagnose)
{
    [DisplayName("Relayed diagnose {0}")]
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(string relayId, CancellationToken cancellationToken)
    {
        if (await relays.OpenQuestionAsync(relayId, cancellationToken).ConfigureAwait(false) is not { } relay)
        {
            return;
        }

        if (await diagnose.AnswerRelayedAsync(relay, cancellationToken).ConfigureAwait(false) is { } answer)
        {
            await relays.AnswerAsync(relay.Id, answer, cancellationToken).ConfigureAwait(false);
        }
    }
}
