global using ChatOpsPull.Configuration;
global using ChatOpsPull.Tests.Infrastructure;
