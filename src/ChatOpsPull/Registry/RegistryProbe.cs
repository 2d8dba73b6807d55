using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using ChatOpsPull.Core.Caching;
using ChatOpsPull.Core.Diagnoses;
using ChatOpsPull.Core.Failures;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Registry;

/// <summary>What the network probe found: evidence per step and, when a step failed, the cause it establishes.</summary>
/// <param name="UsesProxy">HTTP requests to this registry go through a proxy, so a failed direct probe is not conclusive.</param>
public sealed record ProbeReport(IReadOnlyList<Evidence> Evidence, PullCause? Cause, string? Summary, bool UsesProxy)
{
    /// <summary>Where the address the probe connected to lies; null when it connected nowhere.</summary>
    public NetworkReach? Reach { get; init; }

    /// <summary>The registry is a place the bot does not go (<see cref="RegistryDestinations"/>): nothing was sent there.</summary>
    public RefusedDestination? Refused { get; init; }
}

/// <summary>
/// Probes the way to a registry from the bot: DNS resolution, TCP connect and the TLS handshake, each timed and bounded
/// by <see cref="RegistryOptions.ConnectTimeout"/>, with failures named the way Go names them ("no such host",
/// "connection refused", "certificate signed by unknown authority", "server gave HTTP response to HTTPS client").
/// The probe sends no HTTP request, so the registry sees only a connection. Names and addresses are checked by
/// <see cref="RegistryDestinations"/> before they are looked up or connected to: a refused one is not contacted at all,
/// and the evidence says what was refused and why.
/// <para>
/// A probe that passed serves the checks of other images on the same registry for <see cref="RegistryOptions.ProbeReuseWindow"/>
/// (checks at the same moment share the one in flight): a storm of failures over many images of one registry costs it one
/// connection, not one per image. It is evidence only — the SSRF guard does not rest on it: <see cref="RegistryHttpHandler"/>
/// checks every address it connects to — so a reused probe changes no refusal; a refused name is checked before any
/// reuse, failures are never reused, and a reused probe's evidence says how old it is.
/// </para>
/// </summary>
public sealed class RegistryProbe(RegistryTrust trust, RegistryDestinations destinations, IOptions<RegistryOptions> options, TimeProvider time)
{
    private readonly TimeSpan _timeout = options.Value.ConnectTimeout;
    private readonly TimeSpan _reuseWindow = options.Value.ProbeReuseWindow;
    private readonly SingleFlightCache<string, ProbeReport> _recent = new(
        (report, answeredAt, now) => Passed(report) && now - answeredAt < options.Value.ProbeReuseWindow, RegistrySharedAnswers.Kept, time, StringComparer.Ordinal);

    /// <summary>Probes actually made (not shared or reused); for tests and metrics.</summary>
    public long Started => _recent.ReadsStarted;

    /// <summary>The way to the registry: a probe made now, shared with checks at the same moment, or one that passed within the reuse window.</summary>
    public async Task<ProbeReport> ProbeAsync(RegistryEndpoint endpoint, CancellationToken cancellationToken)
    {
        if (destinations.RefuseName(endpoint.Host, endpoint.Port) is not null)
        {
            return await ProbeNowAsync(endpoint, cancellationToken).ConfigureAwait(false); // says what was refused; contacts nothing
        }

        // The shared probe is bounded by its own step timeouts, not by one caller's check; a caller that gives up stops waiting.
        var shared = await _recent.GetSharedAsync(endpoint.SharingKey, (Probe: this, Endpoint: endpoint), static (_, s) => s.Probe.ProbeNowAsync(s.Endpoint, CancellationToken.None), cancellationToken).ConfigureAwait(false);
        if (shared.AnsweredAt is null)
        {
            return shared.Answer;
        }

        // How old, as the window's bound rather than to the tenth of a second: evidence that differed on every check would
        // make a sweep's unchanged finding look changed (and re-send its card) each time.
        var reused = new Evidence(
            "network probe",
            EvidenceOutcome.Info,
            RegistryReuseNote.Line($"{endpoint.Authority} was probed by an earlier check", _reuseWindow) + "; the steps below are from then");
        return shared.Answer with { Evidence = [reused, .. shared.Answer.Evidence] };
    }

    /// <summary>Only a probe that found the way open is reused; a failed or refused one is made again by the next check.</summary>
    private static bool Passed(ProbeReport report) => report.Summary is null && report.Refused is null;

    private async Task<ProbeReport> ProbeNowAsync(RegistryEndpoint endpoint, CancellationToken cancellationToken)
    {
        var evidence = new List<Evidence>();
        var proxy = ProxyFor(endpoint);
        if (proxy is not null)
        {
            evidence.Add(new Evidence("proxy", EvidenceOutcome.Info, $"HTTP requests to {endpoint.Authority} go through the proxy {proxy.Authority}; DNS, TCP and TLS below are probed directly from the bot"));
        }

        ProbeReport Fail(PullCause cause, string summary) => new(evidence, proxy is null ? cause : null, summary, proxy is not null);
        ProbeReport Refuse(RefusedDestination refused) =>
            new(evidence, null, $"the bot did not contact {endpoint.Authority}: {refused}", proxy is not null) { Refused = refused };

        if (destinations.RefuseName(endpoint.Host, endpoint.Port) is { } refusedName)
        {
            evidence.Add(new Evidence($"DNS {endpoint.Host}", EvidenceOutcome.Skipped, $"not looked up: {refusedName}"));
            return Refuse(refusedName);
        }

        // DNS
        IPAddress[] addresses;
        var started = time.GetTimestamp();
        if (IPAddress.TryParse(endpoint.Host, out var literal))
        {
            addresses = [literal];
            evidence.Add(new Evidence($"DNS {endpoint.Host}", EvidenceOutcome.Passed, "IP address, no lookup needed", TimeSpan.Zero));
        }
        else
        {
            try
            {
                using var timeout = Deadline(cancellationToken);
                addresses = await destinations.Network.ResolveAsync(endpoint.Host, timeout.Token).ConfigureAwait(false);
                evidence.Add(new Evidence($"DNS {endpoint.Host}", EvidenceOutcome.Passed, "resolves to " + string.Join(", ", addresses.Take(4).Select(a => a.ToString())), time.GetElapsedTime(started)));
            }
            catch (SocketException e)
            {
                var why = e.SocketErrorCode switch
                {
                    SocketError.HostNotFound => "no such host",
                    SocketError.NoData => "no address records (no such host)",
                    SocketError.TryAgain => "temporary failure in name resolution (the DNS server did not answer)",
                    _ => e.Message,
                };
                evidence.Add(new Evidence($"DNS {endpoint.Host}", EvidenceOutcome.Failed, $"lookup {endpoint.Host}: {why}", time.GetElapsedTime(started)));
                return Fail(PullCause.Network, $"the registry host {endpoint.Host} does not resolve ({why})");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                evidence.Add(new Evidence($"DNS {endpoint.Host}", EvidenceOutcome.Failed, $"no answer within {Seconds(_timeout)}", time.GetElapsedTime(started)));
                return Fail(PullCause.Network, $"DNS lookup of {endpoint.Host} timed out");
            }
        }

        // TCP, to each address only after it is checked
        Socket? socket = null;
        NetworkReach? reach = null;
        RefusedDestination? refused = null;
        var failures = new List<string>();
        foreach (var address in addresses.Take(4))
        {
            if (await destinations.RefuseAddressAsync(endpoint.Host, address, endpoint.Port, NetworkReach.Loopback, cancellationToken).ConfigureAwait(false) is { } refusal)
            {
                evidence.Add(new Evidence($"TCP {Format(address, endpoint.Port)}", EvidenceOutcome.Skipped, $"not connected: {refusal}"));
                refused ??= refusal;
                continue;
            }

            started = time.GetTimestamp();
            try
            {
                using var timeout = Deadline(cancellationToken);
                socket = await destinations.Network.ConnectAsync(new IPEndPoint(address, endpoint.Port), timeout.Token).ConfigureAwait(false);
                evidence.Add(new Evidence($"TCP {Format(address, endpoint.Port)}", EvidenceOutcome.Passed, "connected", time.GetElapsedTime(started)));
                reach = RegistryDestinations.ReachOf(address);
                break;
            }
            catch (SocketException e)
            {
                var why = e.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => $"connection refused (nothing listens on port {endpoint.Port})",
                    SocketError.NetworkUnreachable => "network is unreachable",
                    SocketError.HostUnreachable => "no route to host",
                    SocketError.TimedOut => "connection timed out",
                    _ => e.Message,
                };
                failures.Add(why);
                evidence.Add(new Evidence($"TCP {Format(address, endpoint.Port)}", EvidenceOutcome.Failed, why, time.GetElapsedTime(started)));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                var why = $"no answer within {Seconds(_timeout)} (filtered by a firewall, or the host is down)";
                failures.Add(why);
                evidence.Add(new Evidence($"TCP {Format(address, endpoint.Port)}", EvidenceOutcome.Failed, why, time.GetElapsedTime(started)));
            }
        }

        if (socket is null && refused is not null && failures.Count == 0)
        {
            return Refuse(refused);
        }

        if (socket is null)
        {
            return Fail(PullCause.Network, $"cannot connect to {endpoint.Authority}: {failures.FirstOrDefault() ?? "no address"}");
        }

        using (socket)
        {
            if (endpoint.PlainHttp)
            {
                evidence.Add(new Evidence("TLS", EvidenceOutcome.Info, $"not used: {endpoint.Domain} is configured as a plain-HTTP registry"));
                return new ProbeReport(evidence, null, null, proxy is not null) { Reach = reach };
            }

            started = time.GetTimestamp();
            var recording = new FirstBytesStream(new NetworkStream(socket, ownsSocket: false));
            await using var ssl = new SslStream(recording, leaveInnerStreamOpen: false);
            TlsVerdict? verdict = null;
            try
            {
                using var timeout = Deadline(cancellationToken);
                await ssl.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = endpoint.Host,
                        RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                        {
                            verdict = trust.Evaluate(endpoint.Domain, endpoint.Host, certificate, chain, errors);
                            return verdict.Trusted;
                        },
                    },
                    timeout.Token).ConfigureAwait(false);
                evidence.Add(new Evidence($"TLS {endpoint.Host}", EvidenceOutcome.Passed, $"{Protocol(ssl.SslProtocol)}, {verdict?.Detail ?? "certificate accepted"}", time.GetElapsedTime(started)));
                return new ProbeReport(evidence, null, null, proxy is not null) { Reach = reach };
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                string detail;
                if (verdict is { Trusted: false })
                {
                    detail = verdict.Detail;
                }
                else if (recording.LooksLikeHttp)
                {
                    detail = $"server gave HTTP response to HTTPS client: {endpoint.Authority} speaks plain HTTP (set Registry:Hosts PlainHttp for {endpoint.Domain} if that is intended, as containerd's hosts.toml needs too)";
                }
                else
                {
                    detail = $"TLS handshake failed: {RegistryText.Line(e.Message)}";
                }

                evidence.Add(new Evidence($"TLS {endpoint.Host}", EvidenceOutcome.Failed, detail, time.GetElapsedTime(started)));
                return Fail(PullCause.Tls, detail);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                var detail = $"no TLS answer within {Seconds(_timeout)}";
                evidence.Add(new Evidence($"TLS {endpoint.Host}", EvidenceOutcome.Failed, detail, time.GetElapsedTime(started)));
                return Fail(PullCause.Network, detail);
            }
        }
    }

    /// <summary>
    /// For a registry configured as plain HTTP whose answer was not a registry's: whether the port speaks TLS instead
    /// (Go's servers answer plain HTTP there with "Client sent an HTTP request to an HTTPS server").
    /// </summary>
    public async Task<Evidence?> DetectTlsOnPlainPortAsync(RegistryEndpoint endpoint, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        try
        {
            using var timeout = Deadline(cancellationToken);
            var (socket, _) = await destinations.ConnectAsync(endpoint.Host, endpoint.Port, endpoint.Reach ?? NetworkReach.Loopback, timeout.Token).ConfigureAwait(false);
#pragma warning disable CA5359 // only asks whether the port speaks TLS at all; nothing is sent over this connection
            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), false, (_, _, _, _) => true);
#pragma warning restore CA5359
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = endpoint.Host }, timeout.Token).ConfigureAwait(false);
            return new Evidence(
                $"TLS {endpoint.Host}",
                EvidenceOutcome.Failed,
                $"client sent an HTTP request to an HTTPS server: {endpoint.Authority} speaks HTTPS ({Protocol(ssl.SslProtocol)}) but {endpoint.Domain} is configured as plain HTTP",
                time.GetElapsedTime(started));
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null; // RegistryDestinationRefusedException is an IOException: a refused place is not asked either
        }
    }

    private StepDeadline Deadline(CancellationToken cancellationToken) => new(_timeout, time, cancellationToken);

    private static Uri? ProxyFor(RegistryEndpoint endpoint)
    {
        var proxy = HttpClient.DefaultProxy;
        return proxy.IsBypassed(endpoint.BaseUri) ? null : proxy.GetProxy(endpoint.BaseUri) is { } p && p != endpoint.BaseUri ? p : null;
    }

    private static string Format(IPAddress address, int port) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]:{port}" : $"{address}:{port}";

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " s";

    private static string Protocol(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "TLS 1.3",
        SslProtocols.Tls12 => "TLS 1.2",
        _ => protocol.ToString(),
    };

    /// <summary>Keeps the first bytes the server sends, so a plain-HTTP answer to a TLS hello can be recognized.</summary>
    private sealed class FirstBytesStream(Stream inner) : Stream
    {
        private readonly byte[] _first = new byte[8];
        private int _count;

        public bool LooksLikeHttp => _count >= 5 && Encoding.ASCII.GetString(_first, 0, 5) == "HTTP/";

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            Record(buffer.Span[..read]);
            return read;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            Record(buffer.AsSpan(offset, read));
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Record(ReadOnlySpan<byte> data)
        {
            var take = Math.Min(data.Length, _first.Length - _count);
            if (take > 0)
            {
                data[..take].CopyTo(_first.AsSpan(_count));
                _count += take;
            }
        }
    }

    /// <summary>The caller's token plus this step's timeout (on the injected clock).</summary>
    private sealed class StepDeadline : IDisposable
    {
        private readonly CancellationTokenSource _timeout;
        private readonly CancellationTokenSource _linked;

        public StepDeadline(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
        {
            _timeout = new CancellationTokenSource(timeout, time);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timeout.Token);
        }

        public CancellationToken Token => _linked.Token;

        public void Dispose()
        {
            _linked.Dispose();
            _timeout.Dispose();
        }
    }
}
