#!/usr/bin/perl
# Helper of tests/reliability/flap/run (docs/flapping.md); perl core modules only.
#
#   flap.pl poll MS END_EPOCH OUT NAME=SOCKET...
#       One connection to each clusterd control socket; every MS milliseconds sends
#       {"cmd":"members"} to each and writes one line per answer to OUT:
#         <epoch> <observer> L=<listed>,... U=<listed without tags>,...
#       (uuids, written as the member's name when flap.map in OUT's folder knows them: lines
#       "<name> <uuid>"). Stops at END_EPOCH or when a daemon goes away.
#   flap.pl analyze DIR T0 T1 MEMBERS POLL_MS
#       Reads DIR/watch-*.log ("<epoch> <watch --json line>") and DIR/members-poll.log, prints
#       key=value figures for the window [T0, T1].
use strict;
use warnings;
use IO::Socket::UNIX;
use JSON::PP;
use Time::HiRes qw(time sleep);
use File::Basename qw(dirname);

my $mode = shift @ARGV // '';
if ($mode eq 'poll') { poll(@ARGV) }
elsif ($mode eq 'analyze') { analyze(@ARGV) }
else { die "usage: flap.pl poll|analyze ...\n" }

sub read_map {
  my ($file) = @_;
  my %name;
  if (open(my $fh, '<', $file)) {
    while (<$fh>) { my ($n, $u) = split; $name{$u} = $n if defined $u; }
  }
  return \%name;
}

sub poll {
  my ($ms, $end, $out, @pairs) = @_;
  my $name = read_map(dirname($out) . '/flap.map');
  my $json = JSON::PP->new;
  my @conns;
  for my $p (@pairs) {
    my ($obs, $path) = split /=/, $p, 2;
    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path) or die "flap.pl: $path: $!\n";
    push @conns, [$obs, $s];
  }
  open(my $fh, '>', $out) or die "flap.pl: $out: $!\n";
  $fh->autoflush(1);
  my $next = time;
  while (time < $end) {
    for my $c (@conns) {
      my ($obs, $s) = @$c;
      print $s qq({"cmd":"members"}\n) or return;
      my $line = <$s>;
      return unless defined $line;
      my $t = time;
      my $r = eval { $json->decode($line) };
      next unless $r && $r->{ok};
      my (@l, @u);
      for my $m (@{ $r->{members} }) {
        my $n = $name->{ $m->{uuid} } // $m->{uuid};
        push @l, $n;
        push @u, $n unless @{ $m->{tags} || [] };
      }
      printf $fh "%.3f %s L=%s U=%s\n", $t, $obs, join(',', @l), join(',', @u);
    }
    $next += $ms / 1000;
    my $wait = $next - time;
    if ($wait > 0) { sleep($wait) } else { $next = time }
  }
}

sub median {
  my @v = sort { $a <=> $b } @_;
  return 'n/a' unless @v;
  my $m = @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
  return sprintf('%.2f', $m);
}

sub maxv { my @v = sort { $a <=> $b } @_; return @v ? sprintf('%.2f', $v[-1]) : 'n/a'; }

sub analyze {
  my ($dir, $t0, $t1, $k, $ms) = @_;
  my $name = read_map("$dir/flap.map");
  my $json = JSON::PP->new;
  my ($lost, $disc, $tagev, $left) = (0, 0, 0, 0);
  my (@gaps, %open, %per_obs, @losts);
  for my $file (sort glob("$dir/watch-*.log")) {
    my ($obs) = $file =~ /watch-(.+)\.log$/;
    open(my $fh, '<', $file) or next;
    while (my $line = <$fh>) {
      my ($t, $j) = split / /, $line, 2;
      next unless defined $j && $t >= $t0 && $t <= $t1;
      my $e = eval { $json->decode($j) } or next;
      my $who = $name->{ $e->{uuid} // '' } // ($e->{uuid} // '?');
      if ($e->{event} eq 'lost') {
        ++$lost;
        ++$per_obs{$obs};
        ++$left if ($e->{reason} // '') eq 'left';
        $open{"$obs $who"} = $t;
        push @losts, [$t, $who];
      } elsif ($e->{event} eq 'discovered') {
        ++$disc;
        if (defined(my $since = delete $open{"$obs $who"})) { push @gaps, $t - $since; }
      } elsif ($e->{event} eq 'tags') {
        ++$tagev;
      }
    }
  }
  my $hours = ($t1 - $t0) / 3600;
  # Episodes: the losses of one member at several observers within 2 s of each other (on lo a
  # dropped multicast heartbeat is dropped for every receiver, so observers expire it together).
  my ($episodes, %last) = (0);
  for my $l (sort { $a->[0] <=> $b->[0] } @losts) {
    my ($t, $who) = @$l;
    ++$episodes unless defined $last{$who} && $t - $last{$who} <= 2;
    $last{$who} = $t;
  }
  # Untagged and unlisted pair-time from the members polls.
  my ($samples, $untagged, $unlisted) = (0, 0, 0);
  my (%run, @runs);   # "obs who" -> [first, last] of the current untagged run
  my @names = map { "n$_" } 1 .. $k;
  if (open(my $fh, '<', "$dir/members-poll.log")) {
    while (my $line = <$fh>) {
      my ($t, $obs, $l, $u) = $line =~ /^(\S+) (\S+) L=(\S*) U=(\S*)/ or next;
      next unless $t >= $t0 && $t <= $t1;
      my %listed = map { $_ => 1 } split /,/, $l;
      my %unt = map { $_ => 1 } split /,/, $u;
      for my $who (@names) {
        next if $who eq $obs;
        ++$samples;
        ++$unlisted unless $listed{$who};
        my $key = "$obs $who";
        if ($unt{$who}) {
          ++$untagged;
          if ($run{$key}) { $run{$key}[1] = $t } else { $run{$key} = [$t, $t] }
        } elsif (my $r = delete $run{$key}) {
          push @runs, $r->[1] - $r->[0] + $ms / 1000;
        }
      }
    }
  }
  push @runs, map { $_->[1] - $_->[0] + $ms / 1000 } values %run;  # still untagged at the end
  my $per = $hours > 0 ? $lost / ($k * $hours) : 0;
  print "window_s=", sprintf('%.1f', $t1 - $t0), "\n";
  print "lost=$lost\n", "lost_left=$left\n", "lost_episodes=$episodes\n";
  print "lost_per_member_hour=", sprintf('%.0f', $per), "\n";
  print "lost_by_observer=", join(',', map { "$_:" . ($per_obs{$_} // 0) } @names), "\n";
  print "discovered=$disc\n", "tags_events=$tagev\n";
  print "gaps=", scalar(@gaps), "\n", "gap_median_s=", median(@gaps), "\n", "gap_max_s=", maxv(@gaps), "\n";
  print "gaps_open_at_end=", scalar(keys %open), "\n";
  print "pair_samples=$samples\n";
  print "untagged_pct=", $samples ? sprintf('%.2f', 100 * $untagged / $samples) : 'n/a', "\n";
  print "untagged_runs=", scalar(@runs), "\n", "untagged_median_s=", median(@runs), "\n",
        "untagged_max_s=", maxv(@runs), "\n";
  print "unlisted_pct=", $samples ? sprintf('%.2f', 100 * $unlisted / $samples) : 'n/a', "\n";
}
