using System.ComponentModel;
using ChatOpsPull.Fleet;
using Hangfire;

namespace ChatOpsPull.Digest;

/// <summary>
/// A fleet digest's cluster scan, run on the scanned cluster's queue by that cluster's bot with its own credentials
/// (<see cref="FleetClusterScans"/>); the result goes back through the question's row. The job argument is the question's
/// id only; a question whose digest stopped waiting is left alone.
/// </summary>
public sealed class ClusterScanRelayJob(FleetRelays relays, FleetClusterScans scans)
{
    [DisplayName("Digest scan relayed {0}")]
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync(string relayId, CancellationToken cancellationToken)
    {
        if (await relays.OpenQuestionAsync(relayId, cancellationToken).ConfigureAwait(false) is not { } relay)
        {
            return;
        }

        if (await scans.ScanRelayedAsync(relay, cancellationToken).ConfigureAwait(false) is { } answer)
        {
            await relays.AnswerAsync(relay.Id, answer, cancellationToken).ConfigureAwait(false);
        }
    }
}
