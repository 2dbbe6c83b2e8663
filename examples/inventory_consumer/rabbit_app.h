// The inventory consumer on RabbitMQ (--broker rabbitmq). A queue has no
// committed offsets for outboxd to read, so every message is answered with
// an explicit report on the ack queue: `consumed` once its transaction
// committed (also for a redelivery the inbox turned away: the first report
// may never have been sent), `failed` with the reason when it cannot be
// processed. A delivery is acknowledged only after the broker confirmed its
// report. Main thread only.
#pragma once

#include "inventory_db.h"
#include "options.h"

namespace inventory {

// Until SIGTERM/SIGINT (0) or a problem that is not an outage (1). The
// broker unreachable is waited for with back-off, the database too.
int run_rabbitmq(const Options& o, InventoryDb& db);

} // namespace inventory
