-- outbox_add: deliveries written on their own (a render's `started`). A = {rows}
insert_deliveries(A.rows, 3)
return 1
