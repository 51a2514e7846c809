/* SPDX-License-Identifier: MIT */
/*
 * The scheduler, table-driven. Each case is a small cluster written as text:
 *   machines:    "m1 region=us disk=ssd [cordoned|draining]"   ID, key=value metadata, cordon
 *   jobs:        "a.service launched [hash] | MachineMetadata=region=us | Conflicts=b*"
 *                name, desired state, optional hash, then [X-Fleet] lines (none: no XFleet)
 *   schedule:    "a.service m1 [state]"              an existing schedule entry
 *   expect:      "+a.service m2 ~least-loaded"       the decisions, in order: + schedule,
 *                                                    - unschedule; "~text" = reason contains
 *   unscheduled: "c.service ~no machine satisfies"   every job left unscheduled
 *   running:     "a.service m1"                      a copy still runs there (for draining)
 * Every case is also run with its input shuffled (the output must not change) and, unless
 * .unstable, once more on the schedule its decisions produce (which must change nothing).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job-state.h"
#include "scheduler.h"
#include "snapshot.h"
#include "strv.h"
#include "test-util.h"
#include "unit-file.h"
#include "xfleet.h"

#define MAXL 24

typedef struct SchedCase {
        const char *name;
        const char *machines[MAXL];
        const char *jobs[MAXL];
        const char *schedule[MAXL];
        const char *expect[MAXL];
        const char *unscheduled[MAXL];
        const char *running[MAXL];
        bool unstable; /* a second pass may still change something */
} SchedCase;

/* clang-format off */
static const SchedCase cases[] = {
{
        .name = "empty cluster",
        .jobs = { "a.service launched" },
        .unscheduled = { "a.service ~no machines available" },
}, {
        .name = "least loaded machine",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched", "b.service loaded", "c.service launched" },
        .schedule = { "a.service m1", "b.service m1" },
        .expect = { "+c.service m2 ~least-loaded machine able to run it (load 0)" },
}, {
        .name = "ties broken by machine ID",
        .machines = { "m2", "m3", "m1" },
        .jobs = { "a.service launched" },
        .expect = { "+a.service m1" },
}, {
        .name = "spread in name order",
        .machines = { "m1", "m2" },
        .jobs = { "d.service launched", "c.service launched", "b.service loaded",
                  "a.service launched" },
        .expect = { "+a.service m1", "+b.service m2", "+c.service m1", "+d.service m2" },
}, {
        .name = "units never move for balance",
        .machines = { "m1", "m2", "m3" },
        .jobs = { "a.service launched", "b.service launched", "c.service launched" },
        .schedule = { "a.service m1", "b.service m1", "c.service m1" },
}, {
        .name = "inactive jobs are unscheduled and not placed",
        .machines = { "m1" },
        .jobs = { "a.service inactive", "b.service inactive" },
        .schedule = { "a.service m1 launched" },
        .expect = { "-a.service m1 ~target state inactive" },
}, {
        .name = "inactive jobs do not count as load",
        .machines = { "m1", "m2" },
        .jobs = { "a.service inactive", "b.service launched", "c.service launched" },
        .schedule = { "a.service m1", "b.service m2" },
        .expect = { "-a.service m1 ~target state inactive", "+c.service m1" },
}, {
        .name = "machine went away",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched", "b.service launched" },
        .schedule = { "a.service m9", "b.service m1" },
        .expect = { "-a.service m9 ~target Machine(m9) went away", "+a.service m2" },
}, {
        .name = "destroyed unit",
        .machines = { "m1" },
        .schedule = { "x.service m1" },
        .expect = { "-x.service m1 ~unit no longer exists" },
}, {
        .name = "global unit with a schedule entry",
        .machines = { "m1" },
        .jobs = { "g.service launched | Global=true" },
        .schedule = { "g.service m1" },
        .expect = { "-g.service m1 ~global units are not scheduled by the engine" },
}, {
        .name = "duplicate schedule entries keep the lowest machine ID",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched" },
        .schedule = { "a.service m2", "a.service m1" },
        .expect = { "-a.service m2 ~also scheduled on Machine(m1)" },
}, {
        .name = "MachineID overrides load",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched | MachineID=m1", "x.service launched" },
        .schedule = { "x.service m1" },
        .expect = { "+a.service m1 ~required by MachineID=m1" },
}, {
        .name = "MachineID accepts the 8-character short ID, nothing shorter",
        .machines = { "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210" },
        .jobs = { "a.service launched | MachineID=fedcba98",
                  "b.service launched | X-ConditionMachineID=fedcba9",
                  "c.service launched | MachineID=0123456789abcdef0123456789abcdef" },
        .expect = { "+a.service fedcba9876543210fedcba9876543210",
                    "+c.service 0123456789abcdef0123456789abcdef" },
        .unscheduled = { "b.service ~no live machine matches MachineID=fedcba9" },
}, {
        .name = "MachineID of an absent machine",
        .machines = { "m1" },
        .jobs = { "a.service launched | MachineID=m9" },
        .unscheduled = { "a.service ~no live machine matches MachineID=m9" },
}, {
        .name = "MachineID changed",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched | MachineID=m2" },
        .schedule = { "a.service m1" },
        .expect = { "-a.service m1 ~agent ID \"m1\" does not match required \"m2\"",
                    "+a.service m2" },
}, {
        .name = "MachineID machine cannot run it",
        .machines = { "m1 region=eu" },
        .jobs = { "a.service launched | MachineID=m1 | MachineMetadata=region=us" },
        .unscheduled = { "a.service ~unable to run on Machine(m1), required by MachineID=m1: "
                         "local Machine metadata insufficient (MachineMetadata region=us)" },
}, {
        .name = "MachineMetadata",
        .machines = { "m1 region=eu", "m2 region=us", "m3 region=us disk=ssd" },
        .jobs = { "a.service launched | MachineMetadata=region=us",
                  "b.service launched | MachineMetadata=region=us | MachineMetadata=disk=ssd",
                  "c.service launched | MachineMetadata=region=ap" },
        .expect = { "+a.service m2 ~least-loaded machine with MachineMetadata region=us (load 0)",
                    "+b.service m3 ~MachineMetadata disk=ssd and region=us" },
        .unscheduled = { "c.service ~no machine satisfies MachineMetadata region=ap "
                         "(3 machines checked)" },
}, {
        .name = "MachineMetadata values of one key are ORed",
        .machines = { "m1 region=eu", "m2 region=us", "m3 region=ap" },
        .jobs = { "a.service launched | MachineMetadata=\"region=us\" \"region=ap\"",
                  "b.service launched | MachineMetadata=region=us | MachineMetadata=region=ap" },
        .expect = { "+a.service m2", "+b.service m3 ~(region=us or region=ap)" },
}, {
        .name = "MachineMetadata key!=value",
        .machines = { "m1 disk=hdd", "m2 disk=ssd", "m3" },
        .jobs = { "a.service launched | MachineMetadata=disk!=hdd",
                  "b.service launched | MachineMetadata=disk!=hdd", "x.service launched" },
        .schedule = { "x.service m2" },
        .expect = { "+a.service m3 ~disk!=hdd", "+b.service m2" },
}, {
        .name = "MachineMetadata key!=value everywhere",
        .machines = { "m1 disk=hdd", "m2 disk=hdd" },
        .jobs = { "a.service launched | MachineMetadata=disk!=hdd" },
        .unscheduled = { "a.service ~no machine satisfies MachineMetadata disk!=hdd "
                         "(2 machines checked)" },
}, {
        .name = "malformed MachineMetadata is ignored",
        .machines = { "m1" },
        .jobs = { "a.service launched | MachineMetadata=a=b=c" },
        .expect = { "+a.service m1" },
}, {
        .name = "MachineMetadata no longer satisfied",
        .machines = { "m1 region=eu", "m2 region=us" },
        .jobs = { "a.service launched | MachineMetadata=region=us" },
        .schedule = { "a.service m1" },
        .expect = { "-a.service m1 ~local Machine metadata insufficient "
                    "(MachineMetadata region=us)",
                    "+a.service m2" },
}, {
        .name = "Conflicts avoid a less loaded machine",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched", "b.service launched | Conflicts=a*",
                  "x.service launched", "y.service launched" },
        .schedule = { "a.service m1", "x.service m2", "y.service m2" },
        .expect = { "+b.service m2" },
}, {
        .name = "Conflicts are symmetric",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched | Conflicts=b.service", "b.service launched",
                  "x.service launched", "y.service launched" },
        .schedule = { "a.service m1", "x.service m2", "y.service m2" },
        .expect = { "+b.service m2" },
}, {
        .name = "Conflicts everywhere",
        .machines = { "m1", "m2" },
        .jobs = { "a1.service launched", "a2.service launched",
                  "b.service launched | Conflicts=a*" },
        .schedule = { "a1.service m1", "a2.service m2" },
        .unscheduled = { "b.service ~no machine satisfies Conflicts (e.g. with Unit(a1.service) "
                         "on Machine(m1)) (2 machines checked)" },
}, {
        .name = "Conflicts found in place move the first in name order",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched | Conflicts=b.service", "b.service launched" },
        .schedule = { "a.service m1", "b.service m1" },
        .expect = { "-a.service m1 ~found conflict with locally-scheduled Unit(b.service)",
                    "+a.service m2" },
}, {
        .name = "a unit never conflicts with itself",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched | Conflicts=a*", "a2.service launched | Conflicts=a*" },
        .schedule = { "a.service m1" },
        .expect = { "+a2.service m2" },
}, {
        .name = "Conflicts with specifiers: one instance per machine",
        .machines = { "m1", "m2", "m3" },
        .jobs = { "app@1.service launched | Conflicts=%p@*.service",
                  "app@2.service launched | Conflicts=%p@*.service",
                  "app@3.service launched | Conflicts=%p@*.service",
                  "app@4.service launched | Conflicts=%p@*.service",
                  "other@1.service launched | Conflicts=%p@*.service" },
        .schedule = { "app@1.service m1" },
        .expect = { "+app@2.service m2", "+app@3.service m3", "+other@1.service m1" },
        .unscheduled = { "app@4.service ~no machine satisfies Conflicts" },
}, {
        .name = "conflicts with inactive units do not count",
        .machines = { "m1" },
        .jobs = { "a.service inactive", "b.service launched | Conflicts=a.service" },
        .schedule = { "a.service m1" },
        .expect = { "-a.service m1", "+b.service m1" },
}, {
        .name = "several constraints failing",
        .machines = { "m1 region=us", "m2 region=eu", "m3 region=us" },
        .jobs = { "a.service launched | MachineMetadata=region=us | Conflicts=x.service y.service",
                  "x.service launched", "y.service launched" },
        .schedule = { "x.service m1", "y.service m3" },
        .unscheduled = { "a.service ~no machine able to run it (3 machines checked: 1 fail "
                         "MachineMetadata region=us, 2 fail Conflicts (e.g. with Unit(x.service) "
                         "on Machine(m1)))" },
}, {
        .name = "MachineOf follows its leader to a loaded machine",
        .machines = { "m1", "m2" },
        .jobs = { "a-side.service launched | MachineOf=b-main.service", "b-main.service launched",
                  "x.service launched" },
        .schedule = { "b-main.service m1", "x.service m1" },
        .expect = { "+a-side.service m1 ~follows MachineOf peer Unit(b-main.service)" },
}, {
        .name = "MachineOf follower is placed after its leader",
        .machines = { "m1", "m2" },
        .jobs = { "a-side.service launched | MachineOf=b-main.service", "b-main.service launched",
                  "x.service launched" },
        .schedule = { "x.service m1" },
        .expect = { "+b-main.service m2", "+a-side.service m2" },
}, {
        .name = "MachineOf chain",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched | X-ConditionMachineOf=b.service",
                  "b.service launched | MachineOf=c.service", "c.service launched",
                  "x.service launched" },
        .schedule = { "x.service m1" },
        .expect = { "+c.service m2", "+b.service m2", "+a.service m2" },
}, {
        .name = "MachineOf several leaders",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched | MachineOf=b.service | MachineOf=c.service",
                  "b.service launched", "c.service launched | MachineOf=b.service" },
        .schedule = {},
        .expect = { "+b.service m1", "+c.service m1", "+a.service m1" },
}, {
        .name = "MachineOf leaders on different machines",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched | MachineOf=b.service | MachineOf=c.service",
                  "b.service launched", "c.service launched" },
        .schedule = { "b.service m1", "c.service m2" },
        .unscheduled = { "a.service ~unable to run on Machine(m1) with its MachineOf peer "
                         "Unit(b.service): required peer Unit(c.service) is not scheduled "
                         "locally" },
}, {
        .name = "circular MachineOf",
        .machines = { "m1" },
        .jobs = { "a.service launched | MachineOf=b.service",
                  "b.service launched | MachineOf=a.service",
                  "c.service launched | MachineOf=a.service", "d.service launched",
                  "s.service launched | MachineOf=s.service" },
        .expect = { "+d.service m1" },
        .unscheduled = {
                "a.service ~circular MachineOf dependency: a.service -> b.service -> a.service",
                "b.service ~circular MachineOf dependency: b.service -> a.service -> b.service",
                "c.service ~required peer Unit(a.service) waits on a circular MachineOf "
                "dependency",
                "s.service ~circular MachineOf dependency: s.service -> s.service" },
}, {
        .name = "circular MachineOf while scheduled",
        .machines = { "m1" },
        .jobs = { "a.service launched | MachineOf=b.service",
                  "b.service launched | MachineOf=a.service" },
        .schedule = { "a.service m1", "b.service m1" },
}, {
        .name = "MachineOf peer missing or inactive",
        .machines = { "m1" },
        .jobs = { "a.service launched | MachineOf=nope.service",
                  "b.service launched | MachineOf=i.service", "i.service inactive" },
        .unscheduled = { "a.service ~required peer Unit(nope.service) does not exist",
                         "b.service ~required peer Unit(i.service) is inactive" },
}, {
        .name = "MachineOf leader cannot be placed",
        .machines = { "m1" },
        .jobs = { "a.service launched | MachineOf=b.service",
                  "b.service launched | MachineMetadata=region=us" },
        .unscheduled = { "a.service ~required peer Unit(b.service) is not scheduled",
                         "b.service ~no machine satisfies MachineMetadata region=us" },
}, {
        .name = "MachineOf leader's machine went away",
        .machines = { "m1", "m2" },
        .jobs = { "lead.service launched", "side.service launched | MachineOf=lead.service",
                  "x.service launched" },
        .schedule = { "lead.service m9", "side.service m9", "x.service m1" },
        .expect = { "-lead.service m9", "-side.service m9", "+lead.service m2",
                    "+side.service m2" },
}, {
        .name = "MachineOf follower leaves with its leader",
        .machines = { "m1 region=eu", "m2 region=us" },
        .jobs = { "a-side.service launched | MachineOf=b-lead.service",
                  "b-lead.service launched | MachineMetadata=region=us" },
        .schedule = { "a-side.service m1", "b-lead.service m1" },
        .expect = { "-b-lead.service m1 ~local Machine metadata insufficient",
                    "-a-side.service m1 ~required peer Unit(b-lead.service) is not scheduled "
                    "locally",
                    "+b-lead.service m2", "+a-side.service m2" },
}, {
        .name = "MachineOf follower conflicts on its leader's machine",
        .machines = { "m1", "m2" },
        .jobs = { "lead.service launched", "x.service launched",
                  "side.service launched | MachineOf=lead.service | Conflicts=x.service" },
        .schedule = { "lead.service m1", "x.service m1" },
        .unscheduled = { "side.service ~unable to run on Machine(m1) with its MachineOf peer "
                         "Unit(lead.service): found conflict with locally-scheduled "
                         "Unit(x.service)" },
}, {
        .name = "global units count toward load where they apply",
        .machines = { "m1 role=web", "m2 role=db", "m3 role=web" },
        .jobs = { "g.service launched | Global=true | MachineMetadata=role=web",
                  "a.service launched", "b.service launched", "x.service launched" },
        .schedule = { "x.service m2" },
        .expect = { "+a.service m1 ~(load 1)", "+b.service m2" },
}, {
        .name = "global units conflict",
        .machines = { "m1", "m2" },
        .jobs = { "g.service launched | Global=true | Conflicts=web*",
                  "web.service launched", "other.service launched | Conflicts=g.service" },
        .unscheduled = { "other.service ~no machine satisfies Conflicts (e.g. with "
                         "Unit(g.service) on Machine(m1)) (2 machines checked)",
                         "web.service ~no machine satisfies Conflicts (e.g. with "
                         "Unit(g.service) on Machine(m1))" },
}, {
        .name = "scheduled units keep a conflicting global unit off their machine",
        .machines = { "m1", "m2" },
        .jobs = { "g.service launched | Global=true | Conflicts=web*",
                  "web1.service launched", "web2.service launched" },
        .schedule = { "web1.service m1" },
        .expect = { "+web2.service m1" },
}, {
        .name = "inactive global units apply nowhere",
        .machines = { "m1" },
        .jobs = { "g.service inactive | Global=true | Conflicts=web*", "web.service launched" },
        .expect = { "+web.service m1" },
}, {
        .name = "global units apply in name order",
        .machines = { "m1 r=1", "m2" },
        .jobs = { "g1.service launched | Global=true | MachineMetadata=r=1 | "
                  "Conflicts=g2.service",
                  "g2.service launched | Global=true",
                  "b.service launched | Conflicts=g2.service" },
        .expect = { "+b.service m1" },
}, {
        .name = "MachineOf a global unit",
        .machines = { "m1 role=web", "m2 role=web", "m3" },
        .jobs = { "g.service launched | Global=true | MachineMetadata=role=web",
                  "s.service launched | MachineOf=g.service", "x.service launched" },
        .schedule = { "x.service m1" },
        .expect = { "+s.service m2 ~global MachineOf peer Unit(g.service) (load 1)" },
}, {
        .name = "Replaces: the replaced unit moves away",
        .machines = { "m1", "m2" },
        .jobs = { "new.service launched | Replaces=old.service", "old.service launched",
                  "x.service launched", "y.service launched" },
        .schedule = { "old.service m1", "x.service m2", "y.service m2" },
        .expect = { "+new.service m1", "-old.service m1 ~replaced by Unit(new.service)",
                    "+old.service m2" },
}, {
        .name = "Replaces found in place",
        .machines = { "m1", "m2" },
        .jobs = { "new.service launched | Replaces=old*", "old.service launched" },
        .schedule = { "old.service m1", "new.service m1" },
        .expect = { "-old.service m1 ~replaced by locally-scheduled Unit(new.service)",
                    "+old.service m2" },
}, {
        .name = "mutual Replaces is ignored",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched | Replaces=b.service",
                  "b.service launched | Replaces=a.service" },
        .schedule = { "a.service m1", "b.service m1" },
}, {
        .name = "Replaces moves the replaced unit's followers too",
        .machines = { "m1", "m2" },
        .jobs = { "new.service launched | Replaces=old.service", "old.service launched",
                  "side.service launched | MachineOf=old.service", "x.service launched",
                  "y.service launched" },
        .schedule = { "old.service m1", "side.service m1", "x.service m2", "y.service m2" },
        .expect = { "+new.service m1", "-old.service m1 ~replaced by Unit(new.service)",
                    "-side.service m1 ~required peer Unit(old.service)", "+old.service m2",
                    "+side.service m2" },
}, {
        .name = "Replaces displaces a unit placed in the same pass",
        .machines = { "m1", "m2" },
        .jobs = { "a-old.service launched", "b-new.service launched | Replaces=a-old.service",
                  "x.service launched", "y.service launched" },
        .schedule = { "x.service m2", "y.service m2" },
        .expect = { "+b-new.service m1", "+a-old.service m2" },
}, {
        .name = "Replaces displaces a unit once per pass",
        .machines = { "m1", "m2 r=2", "m3" },
        .jobs = { "a-old.service launched", "b-new.service launched | Replaces=a-old.service",
                  "c-new.service launched | Replaces=a-old.service | MachineMetadata=r=2",
                  "x.service launched", "y.service launched", "z.service launched" },
        .schedule = { "a-old.service m1", "x.service m2", "y.service m3", "z.service m3" },
        .expect = { "+b-new.service m1", "-a-old.service m1 ~replaced by Unit(b-new.service)",
                    "+a-old.service m2" },
        .unscheduled = { "c-new.service ~no machine able to run it (3 machines checked: 2 fail "
                         "MachineMetadata r=2, 1 fail Replaces (e.g. would displace "
                         "Unit(a-old.service) on Machine(m2), which was displaced in this pass "
                         "already))" },
        .unstable = true,
}, {
        .name = "replaced unit with nowhere to go",
        .machines = { "m1" },
        .jobs = { "new.service launched | Replaces=old.service", "old.service launched" },
        .schedule = { "old.service m1" },
        .expect = { "+new.service m1", "-old.service m1" },
        .unscheduled = { "old.service ~no machine satisfies Replaces (e.g. replaced by "
                         "Unit(new.service) on Machine(m1)) (1 machine checked)" },
}, {
        .name = "replaced unit that follows a leader",
        .machines = { "m1", "m2" },
        .jobs = { "lead.service launched", "old.service launched | MachineOf=lead.service",
                  "new.service launched | MachineOf=lead.service | Replaces=old.service" },
        .schedule = { "lead.service m1", "old.service m1" },
        .expect = { "+new.service m1", "-old.service m1 ~replaced by Unit(new.service)" },
        .unscheduled = { "old.service ~unable to run on Machine(m1) with its MachineOf peer "
                         "Unit(lead.service): replaced by locally-scheduled Unit(new.service)" },
}, {
        .name = "deprecated aliases",
        .machines = { "m1 region=us", "m2 region=eu" },
        .jobs = { "a.service launched | X-ConditionMachineMetadata=region=eu",
                  "b.service launched | X-Conflicts=a.service",
                  "c.service launched | X-ConditionMachineID=m1" },
        .expect = { "+a.service m2", "+b.service m1", "+c.service m1" },
}, {
        .name = "a follower whose leader was unscheduled keeps its place",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched", "b.service launched | MachineOf=a.service",
                  "d.service launched | MachineOf=b.service" },
        .schedule = { "a.service m1", "d.service m1" },
        .expect = { "+b.service m1" },
}, {
        .name = "MachineOf a global unit that applies nowhere",
        .machines = { "m1", "m2" },
        .jobs = { "g.service launched | Global=true | MachineMetadata=role=x",
                  "s.service launched | MachineOf=g.service" },
        .unscheduled = { "s.service ~no machine satisfies MachineOf=g.service "
                         "(2 machines checked)" },
}, {
        .name = "a global let in by a unit leaving keeps another global out",
        .machines = { "m1" },
        .jobs = { "g1.service launched | Global=true | Conflicts=g2.service",
                  "g2.service launched | Global=true",
                  "s.service launched | MachineOf=g2.service",
                  "x.service launched | Conflicts=g1.service | MachineMetadata=r=1" },
        .schedule = { "s.service m1", "x.service m1" },
        .expect = { "-x.service m1 ~local Machine metadata insufficient",
                    "-s.service m1 ~required peer Unit(g2.service) is not scheduled locally" },
        .unscheduled = { "s.service ~no machine satisfies MachineOf=g2.service "
                         "(1 machine checked)",
                         "x.service ~no machine satisfies MachineMetadata r=1" },
}, {
        .name = "an eviction lets a job that found no machine in",
        .machines = { "m1" },
        .jobs = { "c.service launched | Conflicts=old.service",
                  "new.service launched | Replaces=old.service", "old.service launched" },
        .schedule = { "old.service m1" },
        .expect = { "+new.service m1", "-old.service m1 ~replaced by Unit(new.service)",
                    "+c.service m1" },
        .unscheduled = { "old.service ~no machine satisfies Conflicts" },
}, {
        .name = "cordon: no new units on a cordoned machine, those there stay",
        .machines = { "m1 cordoned", "m2" },
        .jobs = { "a.service launched", "b.service launched", "c.service loaded" },
        .schedule = { "a.service m1" },
        .expect = { "+b.service m2", "+c.service m2" },
}, {
        .name = "cordon: every machine cordoned",
        .machines = { "m1 cordoned", "m2 draining" },
        .jobs = { "a.service launched" },
        .unscheduled = { "a.service ~every machine able to run it is cordoned (e.g. Machine(m1)) "
                         "(2 machines checked)" },
}, {
        .name = "cordon: MachineID of a cordoned machine",
        .machines = { "m1 cordoned", "m2" },
        .jobs = { "a.service launched | MachineID=m1" },
        .unscheduled = { "a.service ~Machine(m1) is cordoned" },
}, {
        .name = "cordon: a follower does not join its leader on a cordoned machine",
        .machines = { "m1 cordoned", "m2" },
        .jobs = { "a.service launched", "b.service launched | MachineOf=a.service" },
        .schedule = { "a.service m1" },
        .unscheduled = { "b.service ~Machine(m1) is cordoned" },
}, {
        .name = "cordon: a follower of a global unit goes where the global runs, uncordoned",
        .machines = { "m1 cordoned", "m2" },
        .jobs = { "g.service launched | Global=true", "f.service launched | MachineOf=g.service" },
        .expect = { "+f.service m2" },
}, {
        .name = "cordon: mixed failures are counted",
        .machines = { "m1 cordoned", "m2", "m3" },
        .jobs = { "x@1.service launched | Conflicts=x@*", "x@2.service launched",
                  "x@3.service launched" },
        .schedule = { "x@2.service m2", "x@3.service m3" },
        .unscheduled = { "x@1.service ~2 fail Conflicts" },
}, {
        .name = "drain: units leave, and start nowhere while their copy still runs there",
        .machines = { "m1 draining", "m2" },
        .jobs = { "a.service launched", "b.service launched | MachineOf=a.service",
                  "g.service launched | Global=true" },
        .schedule = { "a.service m1", "b.service m1" },
        .running = { "a.service m1", "b.service m1", "g.service m1" },
        .expect = { "-a.service m1 ~Machine(m1) is being drained",
                    "-b.service m1 ~required peer Unit(a.service)" },
        .unscheduled = { "a.service ~waiting for its copy on draining Machine(m1) to stop",
                         "b.service ~waiting for its copy on draining Machine(m1) to stop" },
}, {
        .name = "drain: stopped units start elsewhere, a MachineOf group together",
        .machines = { "m1 draining", "m2", "m3" },
        .jobs = { "a.service launched", "b.service launched | MachineOf=a.service",
                  "c.service launched" },
        .schedule = { "a.service m1", "b.service m1", "c.service m2" },
        .running = { "c.service m2" },
        .expect = { "-a.service m1 ~being drained", "-b.service m1 ~peer Unit(a.service)",
                    "+a.service m3", "+b.service m3 ~follows MachineOf peer Unit(a.service)" },
}, {
        .name = "drain: one copy stopped, one still running",
        .machines = { "m1 draining", "m2" },
        .jobs = { "a.service launched", "c.service launched" },
        .schedule = { "a.service m1", "c.service m1" },
        .running = { "c.service m1" },
        .expect = { "-a.service m1", "-c.service m1", "+a.service m2" },
        .unscheduled = { "c.service ~waiting for its copy" },
}, {
        .name = "drain: Conflicts still hold",
        .machines = { "m1 draining", "m2", "m3" },
        .jobs = { "x@1.service launched | Conflicts=x@*", "x@2.service launched" },
        .schedule = { "x@1.service m1", "x@2.service m2" },
        .expect = { "-x@1.service m1", "+x@1.service m3" },
}, {
        .name = "drain: a copy running on a machine that is not draining does not hold a unit",
        .machines = { "m1", "m2" },
        .jobs = { "a.service launched" },
        .running = { "a.service m1" },
        .expect = { "+a.service m1" },
},
};
/* clang-format on */

/* ---- building snapshots from text ----------------------------------------------------------- */

static XFleet *parse_xfleet(const char *name, char **lines) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ char *text = NULL;
        XFleet *x = NULL;
        size_t size = 0;
        FILE *f;

        if (strv_length(lines) == 0)
                return NULL;
        f = open_memstream(&text, &size);
        ck_assert_ptr_nonnull(f);
        fputs("[X-Fleet]\n", f);
        STRV_FOREACH(l, lines)
                fprintf(f, "%s\n", *l);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(unit_file_parse(text, size, &u, NULL), 0);
        ck_assert_int_eq(xfleet_parse(u, name, &x), 0);
        return x;
}

/* Split s at sep (a string); empty fields are dropped, fields are trimmed of spaces. */
static char **split(const char *s, const char *sep) {
        char **l = NULL;

        while (s && *s) {
                const char *e = strstr(s, sep);
                size_t n = e ? (size_t) (e - s) : strlen(s);
                size_t a = 0;

                while (a < n && s[a] == ' ')
                        a++;
                while (n > a && s[n - 1] == ' ')
                        n--;
                if (n > a)
                        ck_assert_int_eq(strv_consume(&l, strndup(s + a, n - a)), 0);
                s = e ? e + strlen(sep) : NULL;
        }
        return l;
}

static void add_machine(ClusterSnapshot *s, const char *line) {
        _cleanup_strv_free_ char **w = split(line, " "), **md = NULL;
        SnapshotCordon cordon = SNAPSHOT_CORDON_NONE;

        STRV_FOREACH(kv, w + 1) {
                const char *eq = strchr(*kv, '=');

                if (streq(*kv, "cordoned") || streq(*kv, "draining")) {
                        cordon = streq(*kv, "cordoned") ? SNAPSHOT_CORDON_CORDONED
                                                        : SNAPSHOT_CORDON_DRAINING;
                        continue;
                }

                ck_assert_ptr_nonnull(eq);
                ck_assert_int_eq(strv_consume(&md, strndup(*kv, eq - *kv)), 0);
                ck_assert_int_eq(strv_extend(&md, eq + 1), 0);
        }
        ck_assert_int_eq(snapshot_add_machine(s, w[0], md), 0);
        if (cordon != SNAPSHOT_CORDON_NONE)
                ck_assert_int_eq(snapshot_cordon_machine(s, w[0], cordon), 0);
}

static void add_job(ClusterSnapshot *s, const char *line) {
        _cleanup_strv_free_ char **parts = split(line, " | "), **w = NULL;

        w = split(parts[0], " ");
        ck_assert_int_ge(job_state_from_string(w[1]), 0);
        ck_assert_int_eq(snapshot_add_job(s, w[0], w[2] ? w[2] : "0000",
                                          job_state_from_string(w[1]),
                                          parse_xfleet(w[0], parts + 1)),
                         0);
}

static void add_schedule(ClusterSnapshot *s, const char *line) {
        _cleanup_strv_free_ char **w = split(line, " ");

        ck_assert_int_eq(snapshot_add_schedule(
                                 s, w[0], w[1],
                                 w[2] ? job_state_from_string(w[2]) : JOB_STATE_LAUNCHED, "0000"),
                         0);
}

static size_t count(const char *const *l) {
        size_t n = 0;

        while (n < MAXL && l[n])
                n++;
        return n;
}

/* Indices 0..n-1, shuffled by seed (0: identity). */
static void permutation(size_t *p, size_t n, unsigned seed) {
        for (size_t i = 0; i < n; i++)
                p[i] = i;
        for (size_t i = n; seed && i > 1; i--) {
                size_t k;

                seed = seed * 1103515245u + 12345u;
                k = (seed >> 8) % i;
                size_t t = p[i - 1];

                p[i - 1] = p[k];
                p[k] = t;
        }
}

/* The snapshot of a case; schedule (a strv of "job machine" lines) replaces the case's. */
static ClusterSnapshot *build(const SchedCase *c, char **schedule, unsigned seed) {
        ClusterSnapshot *s = NULL;
        size_t p[MAXL * 4];
        size_t n;

        ck_assert_int_eq(snapshot_new(&s), 0);
        n = count(c->machines);
        permutation(p, n, seed);
        for (size_t i = 0; i < n; i++)
                add_machine(s, c->machines[p[i]]);
        n = count(c->jobs);
        permutation(p, n, seed * 7);
        for (size_t i = 0; i < n; i++)
                add_job(s, c->jobs[p[i]]);
        if (schedule) {
                n = strv_length(schedule);
                ck_assert_uint_le(n, ELEMENTSOF(p));
                permutation(p, n, seed * 13);
                for (size_t i = 0; i < n; i++)
                        add_schedule(s, schedule[p[i]]);
        } else {
                n = count(c->schedule);
                permutation(p, n, seed * 13);
                for (size_t i = 0; i < n; i++)
                        add_schedule(s, c->schedule[p[i]]);
        }
        for (size_t i = 0; i < count(c->running); i++) {
                _cleanup_strv_free_ char **w = split(c->running[i], " ");

                ck_assert_int_eq(snapshot_add_running(s, w[0], w[1]), 0);
        }
        return s;
}

/* Everything a result says, as text. */
static char *dump(const SchedulerResult *r) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < r->n_decisions; i++) {
                const SchedulerDecision *d = &r->decisions[i];

                fprintf(f, "%s %s %s %s %s: %s\n", scheduler_decision_kind_to_string(d->kind),
                        d->job, d->machine, strempty(d->hash), job_state_to_string(d->state),
                        d->reason);
        }
        for (size_t i = 0; i < r->n_unscheduled; i++)
                fprintf(f, "unscheduled %s: %s\n", r->unscheduled[i].job, r->unscheduled[i].reason);
        ck_assert_int_eq(fclose(f), 0);
        return text;
}

/* The schedule after applying r to c's schedule, as "job machine" lines. */
static char **apply(const SchedCase *c, const SchedulerResult *r) {
        char **l = NULL;

        for (size_t i = 0; i < count(c->schedule); i++)
                ck_assert_int_eq(strv_extend(&l, c->schedule[i]), 0);
        for (size_t i = 0; i < r->n_decisions; i++) {
                const SchedulerDecision *d = &r->decisions[i];
                _cleanup_free_ char *line = NULL;

                ck_assert_int_ge(asprintf(&line, "%s %s", d->job, d->machine), 0);
                if (d->kind == SCHEDULER_SCHEDULE) {
                        ck_assert_int_eq(strv_extend(&l, line), 0);
                        continue;
                }
                for (char **e = l; e && *e; e++) {
                        _cleanup_strv_free_ char **w = split(*e, " ");

                        if (streq(w[0], d->job) && streq(w[1], d->machine)) {
                                free(*e);
                                memmove(e, e + 1, (strv_length(e + 1) + 1) * sizeof(char *));
                                break;
                        }
                }
        }
        return l ? l : calloc(1, sizeof(char *));
}

static void check_expectations(const SchedCase *c, const SchedulerResult *r) {
        _cleanup_free_ char *text = dump(r);

        ck_assert_msg(r->n_decisions == count(c->expect), "%s: %zu decisions, expected %zu:\n%s",
                      c->name, r->n_decisions, count(c->expect), text);
        for (size_t i = 0; i < r->n_decisions; i++) {
                const SchedulerDecision *d = &r->decisions[i];
                _cleanup_free_ char *got = NULL;
                const char *want = c->expect[i], *tilde = strstr(want, " ~");
                size_t n = tilde ? (size_t) (tilde - want) : strlen(want);

                ck_assert_int_ge(asprintf(&got, "%c%s %s",
                                          d->kind == SCHEDULER_SCHEDULE ? '+' : '-', d->job,
                                          d->machine),
                                 0);
                ck_assert_msg(strlen(got) == n && strneq(got, want, n),
                              "%s: decision %zu is %s, expected %s:\n%s", c->name, i, got, want,
                              text);
                ck_assert_msg(!tilde || strstr(d->reason, tilde + 2),
                              "%s: decision %zu reason \"%s\" lacks \"%s\"", c->name, i, d->reason,
                              tilde + 2);
        }
        ck_assert_msg(r->n_unscheduled == count(c->unscheduled),
                      "%s: %zu unscheduled, expected %zu:\n%s", c->name, r->n_unscheduled,
                      count(c->unscheduled), text);
        for (size_t i = 0; i < r->n_unscheduled; i++) {
                const char *want = c->unscheduled[i], *tilde = strstr(want, " ~");
                size_t n = tilde ? (size_t) (tilde - want) : strlen(want);

                ck_assert_msg(strlen(r->unscheduled[i].job) == n &&
                                      strneq(r->unscheduled[i].job, want, n),
                              "%s: unscheduled %zu is %s, expected %s", c->name, i,
                              r->unscheduled[i].job, want);
                ck_assert_msg(!tilde || strstr(r->unscheduled[i].reason, tilde + 2),
                              "%s: unscheduled %s reason \"%s\" lacks \"%s\"", c->name,
                              r->unscheduled[i].job, r->unscheduled[i].reason, tilde + 2);
        }
}

START_TEST(test_case) {
        const SchedCase *c = &cases[_i];
        _cleanup_(snapshot_freep) ClusterSnapshot *s = build(c, NULL, 0);
        _cleanup_(scheduler_result_freep) SchedulerResult *r = NULL;
        _cleanup_free_ char *text = NULL;

        ck_assert_int_eq(scheduler_run(s, &r), 0);
        check_expectations(c, r);
        text = dump(r);

        /* Same output for shuffled input, and for the same snapshot again. */
        for (unsigned seed = 0; seed < 4; seed++) {
                _cleanup_(snapshot_freep) ClusterSnapshot *s2 = build(c, NULL, seed * 7919 + 1);
                _cleanup_(scheduler_result_freep) SchedulerResult *r2 = NULL;
                _cleanup_free_ char *text2 = NULL;

                ck_assert_int_eq(scheduler_run(seed == 0 ? s : s2, &r2), 0);
                text2 = dump(r2);
                ck_assert_msg(streq(text, text2), "%s: differs with seed %u:\n%s---\n%s", c->name,
                              seed, text, text2);
        }

        /* The decisions reach a fixed point: a second pass changes nothing. */
        if (!c->unstable) {
                _cleanup_strv_free_ char **after = apply(c, r);
                _cleanup_(snapshot_freep) ClusterSnapshot *s3 = build(c, after, 0);
                _cleanup_(scheduler_result_freep) SchedulerResult *r3 = NULL;
                _cleanup_free_ char *text3 = NULL;

                ck_assert_int_eq(scheduler_run(s3, &r3), 0);
                text3 = dump(r3);
                ck_assert_msg(r3->n_decisions == 0, "%s: second pass not stable:\n%s", c->name,
                              text3);
        }
}
END_TEST

/* ---- API details ------------------------------------------------------------------------------
 */

START_TEST(test_snapshot_cordon) {
        _cleanup_(snapshot_freep) ClusterSnapshot *s = NULL;

        ck_assert_int_eq(snapshot_new(&s), 0);
        ck_assert_int_eq(snapshot_add_machine(s, "m1", NULL), 0);
        ck_assert_int_eq(snapshot_cordon_machine(s, "m1", SNAPSHOT_CORDON_DRAINING), 0);
        ck_assert_int_eq(s->machines[0].cordon, SNAPSHOT_CORDON_DRAINING);
        ck_assert_int_eq(snapshot_cordon_machine(s, "m9", SNAPSHOT_CORDON_CORDONED), -ENOENT);
        ck_assert_int_eq(snapshot_cordon_machine(s, "m1", _SNAPSHOT_CORDON_MAX), -EINVAL);
        ck_assert_int_eq(snapshot_cordon_machine(s, NULL, SNAPSHOT_CORDON_NONE), -EINVAL);
        ck_assert_int_eq(snapshot_add_running(s, "a.service", "m1"), 0);
        ck_assert_int_eq(snapshot_add_running(s, NULL, "m1"), -EINVAL);
        ck_assert_uint_eq(s->n_running, 1);
}
END_TEST

START_TEST(test_job_state_strings) {
        ck_assert_str_eq(job_state_to_string(JOB_STATE_INACTIVE), "inactive");
        ck_assert_str_eq(job_state_to_string(JOB_STATE_LOADED), "loaded");
        ck_assert_str_eq(job_state_to_string(JOB_STATE_LAUNCHED), "launched");
        ck_assert_ptr_null(job_state_to_string(_JOB_STATE_MAX));
        ck_assert_ptr_null(job_state_to_string(_JOB_STATE_INVALID));
        ck_assert_int_eq(job_state_from_string("launched"), JOB_STATE_LAUNCHED);
        ck_assert_int_eq(job_state_from_string("loaded"), JOB_STATE_LOADED);
        ck_assert_int_eq(job_state_from_string("inactive"), JOB_STATE_INACTIVE);
        ck_assert_int_eq(job_state_from_string("Launched"), -EINVAL);
        ck_assert_int_eq(job_state_from_string(""), -EINVAL);
        ck_assert_int_eq(job_state_from_string(NULL), -EINVAL);
        ck_assert_str_eq(scheduler_decision_kind_to_string(SCHEDULER_SCHEDULE), "schedule");
        ck_assert_str_eq(scheduler_decision_kind_to_string(SCHEDULER_UNSCHEDULE), "unschedule");
        ck_assert_ptr_null(scheduler_decision_kind_to_string(_SCHEDULER_DECISION_KIND_MAX));
        ck_assert_int_eq(scheduler_decision_kind_from_string("schedule"), SCHEDULER_SCHEDULE);
        ck_assert_int_eq(scheduler_decision_kind_from_string("x"), -EINVAL);
}
END_TEST

START_TEST(test_snapshot_metadata) {
        _cleanup_(snapshot_freep) ClusterSnapshot *s = NULL;
        _cleanup_strv_free_ char **md = split("region us disk ssd region eu", " ");
        _cleanup_strv_free_ char **odd = split("region", " ");
        const SnapshotMachine *m;

        ck_assert_int_eq(snapshot_new(&s), 0);
        ck_assert_int_eq(snapshot_add_machine(s, "m1", md), 0);
        ck_assert_int_eq(snapshot_add_machine(s, "m2", NULL), 0);
        ck_assert_int_eq(snapshot_add_machine(s, "m3", odd), -EINVAL);
        ck_assert_uint_eq(s->n_machines, 2);
        m = &s->machines[0];
        ck_assert_uint_eq(m->n_metadata, 2);
        ck_assert_str_eq(m->metadata[0].key, "disk");
        ck_assert_str_eq(m->metadata[1].key, "region");
        ck_assert_str_eq(snapshot_machine_get_metadata(m, "region"), "eu"); /* the later wins */
        ck_assert_str_eq(snapshot_machine_get_metadata(m, "disk"), "ssd");
        ck_assert_ptr_null(snapshot_machine_get_metadata(m, "rack"));
        ck_assert_ptr_null(snapshot_machine_get_metadata(&s->machines[1], "rack"));
        ck_assert_int_eq(snapshot_add_job(s, "a.service", NULL, _JOB_STATE_MAX, NULL), -EINVAL);
        ck_assert_int_eq(snapshot_add_schedule(s, "a.service", "m1", -1, NULL), -EINVAL);
        ck_assert_int_eq(snapshot_add_job(s, "a.service", NULL, JOB_STATE_LOADED, NULL), 0);
        ck_assert(!snapshot_job_is_global(&s->jobs[0]));
}
END_TEST

START_TEST(test_duplicates) {
        static const SchedCase dups[] = {
                {.machines = {"m1", "m1"}},
                {.machines = {"m1"}, .jobs = {"a.service launched", "a.service loaded"}},
                {.machines = {"m1"},
                 .jobs = {"a.service launched"},
                 .schedule = {"a.service m1", "a.service m1"}},
        };

        for (size_t i = 0; i < ELEMENTSOF(dups); i++) {
                _cleanup_(snapshot_freep) ClusterSnapshot *s = build(&dups[i], NULL, 0);
                SchedulerResult *r = NULL;

                ck_assert_int_eq(scheduler_run(s, &r), -EEXIST);
                ck_assert_ptr_null(r);
        }
}
END_TEST

START_TEST(test_decision_fields) {
        static const SchedCase c = {
                .machines = {"m1", "m2"},
                .jobs = {"a.service loaded 1111", "b.service launched 2222 | MachineID=m2",
                         "c.service launched 3333 | MachineOf=nope.service"},
                .schedule = {"b.service m1 loaded"},
        };
        _cleanup_(snapshot_freep) ClusterSnapshot *s = build(&c, NULL, 0);
        _cleanup_(scheduler_result_freep) SchedulerResult *r = NULL;

        ck_assert_int_eq(scheduler_run(s, &r), 0);
        ck_assert_uint_eq(r->n_decisions, 3);
        /* An unschedule carries the entry's hash and state, for a compare-and-delete. */
        ck_assert_int_eq(r->decisions[0].kind, SCHEDULER_UNSCHEDULE);
        ck_assert_str_eq(r->decisions[0].job, "b.service");
        ck_assert_str_eq(r->decisions[0].machine, "m1");
        ck_assert_str_eq(r->decisions[0].hash, "0000");
        ck_assert_int_eq(r->decisions[0].state, JOB_STATE_LOADED);
        /* A schedule carries the job's hash and desired state. */
        ck_assert_int_eq(r->decisions[1].kind, SCHEDULER_SCHEDULE);
        ck_assert_str_eq(r->decisions[1].job, "a.service");
        ck_assert_str_eq(r->decisions[1].machine, "m1");
        ck_assert_str_eq(r->decisions[1].hash, "1111");
        ck_assert_int_eq(r->decisions[1].state, JOB_STATE_LOADED);
        ck_assert_str_eq(r->decisions[2].job, "b.service");
        ck_assert_str_eq(r->decisions[2].machine, "m2");
        ck_assert_str_eq(r->decisions[2].hash, "2222");
        ck_assert_int_eq(r->decisions[2].state, JOB_STATE_LAUNCHED);

        ck_assert_uint_eq(r->n_unscheduled, 1);
        ck_assert_ptr_eq(scheduler_result_find_unscheduled(r, "c.service"), &r->unscheduled[0]);
        ck_assert_ptr_null(scheduler_result_find_unscheduled(r, "a.service"));
        ck_assert_ptr_null(scheduler_result_find_unscheduled(r, "zzz.service"));

        /* What the engine keeps between passes: the unscheduled jobs alone, with their own
         * strings. */
        _cleanup_(scheduler_result_freep) SchedulerResult *u = NULL;
        ck_assert_int_eq(scheduler_result_copy_unscheduled(r, &u), 0);
        r = scheduler_result_free(r);
        ck_assert_uint_eq(u->n_decisions, 0);
        ck_assert_uint_eq(u->n_unscheduled, 1);
        ck_assert_str_eq(u->unscheduled[0].job, "c.service");
        ck_assert_str_eq(u->unscheduled[0].reason,
                         "required peer Unit(nope.service) does not exist");
        ck_assert_ptr_eq(scheduler_result_find_unscheduled(u, "c.service"), &u->unscheduled[0]);
}
END_TEST

static Suite *scheduler_suite(void) {
        Suite *s = suite_create("scheduler");
        TCase *tc = tcase_create("cases");

        tcase_add_loop_test(tc, test_case, 0, ELEMENTSOF(cases));
        suite_add_tcase(s, tc);
        tc = tcase_create("api");
        tcase_add_test(tc, test_job_state_strings);
        tcase_add_test(tc, test_snapshot_cordon);
        tcase_add_test(tc, test_snapshot_metadata);
        tcase_add_test(tc, test_duplicates);
        tcase_add_test(tc, test_decision_fields);
        suite_add_tcase(s, tc);
        return s;
}

FLEET_TEST_MAIN(scheduler_suite)
