using ChatOpsPull.Core.Caching;
using ChatOpsPull.Core.Incidents;
using ChatOpsPull.Incidents;
using ChatOpsPull.Prevention;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Web;

/// <summary>
/// The web page's cards, rendered once per version instead of once per request. What it serves was read from the stores
/// after the last news this process heard, so a change shows on the next fragment: the news that updates chat cards (an
/// <see cref="IIncidentNotifier"/>: incident, approval and run changes), finding news (an <see cref="IPreventionNotifier"/>)
/// and the page's own button clicks each make the next request read the board again. News this process never hears (a
/// change made by another replica, a snoozed or muted incident, whose news is not told) shows after at most
/// <see cref="WebPageOptions.CardsMaxAge"/>; the clock's own changes (the footer's minute, an approval expiring, a snooze
/// ending) show when they happen. A read renders only the cards whose <see cref="WebBoardCard.Version"/> it has not
/// rendered yet; requests that arrive while a read runs share it.
/// </summary>
public sealed class WebCardsCache(
    WebIncidentBoard board,
    IOptionsMonitor<WebPageOptions> options,
    IOptions<AntiforgeryOptions> antiforgery,
    TimeProvider time) : IIncidentNotifier, IPreventionNotifier
{
    /// <summary>
    /// The cards by the generation of news they were read at: a read that started at this generation saw every change told
    /// before this request, so requests at one generation share it, and its snapshot serves them until it is due again.
    /// Only the newest generation is ever asked for, so adding one drops the others' snapshots.
    /// </summary>
    private readonly SingleFlightCache<long, Snapshot> _snapshots = new(static (snapshot, _, now) => now < snapshot.ValidUntil, 1, time);

    private readonly Lock _gate = new();
    private long _generation;

    /// <summary>The newest snapshot read, whose rendered cards the next read reuses.</summary>
    private Snapshot? _latest;

    /// <summary>How many times the board was read from the stores (for tests and the bench).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    private long _reads;

    /// <summary>The cards as they stand now.</summary>
    public async Task<WebCardsHtml> GetAsync(CancellationToken cancellationToken)
    {
        // Not the request's token: other requests share the read.
        var snapshot = await _snapshots.GetAsync(
            Interlocked.Read(ref _generation),
            this,
            static (generation, cache) => cache.ReadAsync(generation),
            cancellationToken).ConfigureAwait(false);
        return snapshot.Html;
    }

    /// <summary>Something the cards show changed: the next request reads the board again.</summary>
    public void Invalidate() => Interlocked.Increment(ref _generation);

    public Task IncidentChangedAsync(Incident incident, IncidentChange change, string? detail, string? newsKey, CancellationToken cancellationToken)
    {
        Invalidate();
        return Task.CompletedTask;
    }

    public Task FindingChangedAsync(PreventionFinding finding, FindingChange change, CancellationToken cancellationToken)
    {
        Invalidate();
        return Task.CompletedTask;
    }

    private async Task<Snapshot> ReadAsync(long generation)
    {
        var started = time.GetUtcNow();
        var cards = await board.ReadAsync(CancellationToken.None).ConfigureAwait(false);
        Interlocked.Increment(ref _reads);
        var field = antiforgery.Value.FormFieldName;
        var previous = Volatile.Read(ref _latest)?.Rendered;
        var rendered = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var parts = new List<string[]>(cards.Count);
        var validUntil = started + options.CurrentValue.CardsMaxAge;
        foreach (var card in cards)
        {
            if (card.Version is null || previous is null || !previous.TryGetValue(card.Version, out var html))
            {
                html = CardHtmlRenderer.RenderParts(card.Build(), WebPageView.ActionPath, field);
            }

            if (card.Version is not null)
            {
                rendered[card.Version] = html;
            }

            parts.Add(html);
            validUntil = card.ValidUntil < validUntil ? card.ValidUntil : validUntil;
        }

        var snapshot = new Snapshot(generation, validUntil, WebCardsHtml.From(parts), rendered);
        lock (_gate)
        {
            if (_latest is null || _latest.Generation <= generation)
            {
                Volatile.Write(ref _latest, snapshot);
            }
        }

        return snapshot;
    }

    private sealed record Snapshot(long Generation, DateTimeOffset ValidUntil, WebCardsHtml Html, Dictionary<string, string[]> Rendered);
}
